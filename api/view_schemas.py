"""Response bodies of the query API and of the status/notes commands (views of the ledger)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(value: datetime) -> datetime:
    # Sources may report other offsets (and replays keep them): answers are always UTC.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


UTCTime = Annotated[datetime, AfterValidator(_utc)]
Outcome = Literal["applied", "suppressed", "no_change"]


class _FromAttributes(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class LeadOut(_FromAttributes):
    """A lead's contact view: the folded ledger (current, or as of a moment)."""

    lead_id: UUID
    workspace: str
    phone: str
    name: str | None
    sarah_name: str | None
    business_type: str | None
    domisili: str | None
    business_duration: str | None
    pain_points: list[str] | None
    priority: str | None
    urgency_level: str | None
    lead_score: int | None
    lead_temperature: str | None
    closing_technique_used: str | None
    objection_raised: str | None
    extracted: dict[str, Any]
    lead_status: str | None
    status_source: str | None
    status_updated_at: UTCTime | None
    status_updated_by: str | None
    status_held: bool
    chat_phase: str | None
    conversation_status: str | None
    created_at: UTCTime
    updated_at: UTCTime
    last_message_at: UTCTime | None
    last_inbound_at: UTCTime | None
    last_outbound_at: UTCTime | None
    last_contact_at: UTCTime | None
    inbound_count: int
    outbound_count: int
    version: int = Field(description="Ledger position of the last event folded in")


class LeadPageOut(BaseModel):
    leads: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
    limit: int


class StatusChangeOut(_FromAttributes):
    """One status proposal and what the policy decided about it."""

    position: int
    at: UTCTime
    from_status: str | None = Field(serialization_alias="from")
    to_status: str = Field(serialization_alias="to")
    source: str
    actor: str
    reason: str | None
    outcome: Outcome
    outcome_reason: str
    origin: str = Field(description="request (Brain/human) or sarah_phase")


class StatusHistoryOut(BaseModel):
    lead_id: UUID
    history: list[StatusChangeOut]


class NoteOut(_FromAttributes):
    position: int
    at: UTCTime
    actor: str
    source: str
    content: str


class NotesOut(BaseModel):
    lead_id: UUID
    notes: list[NoteOut]


class MessageOut(_FromAttributes):
    message_id: str
    direction: str | None
    type: str | None
    text: str | None
    status: str | None
    error_code: int | None
    at: UTCTime | None = Field(description="null while only a status report arrived")
    status_at: UTCTime | None


class MessagesOut(BaseModel):
    lead_id: UUID
    messages: list[MessageOut]


class StatsOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_temperature: dict[str, int] = Field(description="'unset' counts leads without one")


class AuditEntryOut(_FromAttributes):
    kind: Literal["status", "note"]
    lead_id: UUID
    phone: str | None
    position: int
    at: UTCTime
    source: str
    actor: str
    from_status: str | None = Field(default=None, serialization_alias="from")
    to_status: str | None = Field(default=None, serialization_alias="to")
    reason: str | None = None
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    origin: str | None = None
    content: str | None = Field(default=None, description="the note (kind 'note')")


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None
    limit: int


class CommandResultOut(BaseModel):
    """What a status, release or note command recorded, what it decided, and the lead after."""

    lead_id: UUID
    fact: str
    appended: bool = Field(description="false when a retry (same Idempotency-Key) added nothing")
    position: int | None = Field(description="the command's ledger position on the lead")
    outcome: Outcome | None = Field(description="null only if the views could not catch up "
                                                "in time")
    outcome_reason: str | None
    status_change: StatusChangeOut | None = None
    note: NoteOut | None = None
    lead: LeadOut | None
