"""The query API's parameters (validated from the query string) and the bodies it answers
with, including the status/notes commands' answers. Times are ISO 8601; naive ones are UTC,
and every time goes out in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from api.http.principal_out import WithPrincipal
from domain.reducer.conversation import ConversationStatus
from domain.values import ChatPhase, LeadStatus, Source, Temperature


def _utc(value: datetime) -> datetime:
    # Sources may report other offsets (and replays keep them): answers are always UTC.
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:  # e.g. year 1 at +01:00 is before datetime.min in UTC
        raise ValueError("out of range") from None


_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _iso(value: Any) -> Any:
    """ISO 8601 only: pydantic would also read "0.5" or "1700000000" as Unix times."""
    if isinstance(value, str):
        if not _ISO_DATE.match(value):
            raise ValueError("expected an ISO 8601 time, e.g. 2026-11-24T10:00:00Z")
        # An unencoded "+01:00" arrives as " 01:00" (a form-encoded space): read it as meant.
        return re.sub(r"(T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", value)
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it, never a 500
        raise ValueError("must not contain NUL characters")
    return value


UTCTime = Annotated[datetime, AfterValidator(_utc)]
TimeParam = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_utc)]
TextParam = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
Outcome = Literal["applied", "suppressed", "no_change"]
LIMIT = Field(50, ge=1, le=200, description="Page size, 1..200")
CURSOR = Field(None, max_length=1000, description="`next_cursor` of the previous page")


class LeadListParams(BaseModel):
    """GET /leads. Enum filters repeat (`status=new&status=qualified`) or take commas."""

    model_config = ConfigDict(extra="ignore")

    status: list[LeadStatus] = Field([], description="lead_status is one of these")
    temperature: list[Temperature] = Field([], description="lead_temperature is one of these")
    chat_phase: list[ChatPhase] = Field([], description="Sarah's chat_phase is one of these")
    conversation_status: list[ConversationStatus] = Field(
        [], description="conversation_status (AI-mode control) is one of these"
    )
    status_source: list[Source] = Field(
        [], description="the source holding the current lead_status is one of these"
    )
    score_min: int | None = Field(None, ge=0, le=100, description="lead_score >= this")
    score_max: int | None = Field(None, ge=0, le=100, description="lead_score <= this")
    updated_since: TimeParam | None = Field(None, description="updated_at >= this")
    updated_until: TimeParam | None = Field(None, description="updated_at <= this")
    last_message_since: TimeParam | None = Field(None, description="last_message_at >= this")
    last_message_until: TimeParam | None = Field(None, description="last_message_at <= this")
    q: TextParam | None = Field(
        None,
        description="Case-insensitive substring of name, "
        "sarah_name, phone, business_type or domisili (taken literally)",
    )
    sort: Literal["last_message_at", "lead_score", "updated_at"] = Field(
        "last_message_at", description="Sort key; leads without one come last"
    )
    order: Literal["asc", "desc"] = Field("desc", description="Sort direction")
    limit: int = LIMIT
    cursor: str | None = CURSOR


class AuditParams(BaseModel):
    """GET /audit: status decisions and notes across the workspace, newest first."""

    model_config = ConfigDict(extra="ignore")

    source: Source | None = Field(None, description="who proposed or wrote it")
    actor: TextParam | None = Field(None, description="exact actor (or note author)")
    principal: TextParam | None = Field(
        None, description="the API key's principal: its name or key id (docs/security.md)"
    )
    since: TimeParam | None = Field(None, description="at >= this")
    until: TimeParam | None = Field(None, description="at <= this")
    limit: int = LIMIT
    cursor: str | None = CURSOR


class AsOfParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    as_of: TimeParam | None = Field(
        None, description="The lead as it stood at this time, replayed from the ledger"
    )


class _FromAttributes(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class LeadOut(_FromAttributes):
    """A lead's contact view: the folded ledger (current, or as of a moment)."""

    lead_id: UUID
    workspace: str
    phone: str | None = Field(description="E.164; null once the lead's data was erased")
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
    erased: bool = Field(
        False, description="The person's data was erased: personal fields are null"
    )
    erased_at: UTCTime | None = None
    erased_by: str | None = None
    erasure_reason: str | None = None
    wa_user_id: str | None = Field(None, description="WhatsApp business-scoped user id")
    username: str | None = Field(None, description="WhatsApp username, '@name'")
    linked_identities: list[dict[str, Any]] | None = Field(
        None, description="other ids of the person: {kind, identity, reason}"
    )
    held_by: UUID | None = Field(
        None, description="set when another lead holds this person's history: look there"
    )
    first_referral: dict[str, Any] | None = Field(
        None,
        description="first Click-to-WhatsApp ad: ctwa_clid, source_url, source_type, "
        "source_id, headline, body, at",
    )
    last_referral: dict[str, Any] | None = Field(None, description="the latest ad, same keys")
    flow_answers: dict[str, Any] | None = Field(
        None, description="latest Flow/lead-form reply: answers (parsed JSON, else the text), at"
    )
    last_location: dict[str, Any] | None = Field(
        None, description="latest shared location: latitude, longitude, name, address, at"
    )

    @model_validator(mode="after")
    def _erased_flag(self) -> LeadOut:
        self.erased = self.erased_at is not None
        return self


class LeadPageOut(BaseModel):
    leads: list[LeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )
    limit: int


class StatusChangeOut(WithPrincipal):
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
    origin: str = Field(
        description="request (Brain/human), sarah_phase, release (a hold released) "
        "or import (a legacy status)"
    )


class StatusHistoryOut(BaseModel):
    lead_id: UUID
    history: list[StatusChangeOut]


class NoteOut(WithPrincipal):
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
    error_title: str | None = None
    echo: bool = Field(False, description="typed by staff in the WhatsApp Business app")
    edited: bool = False
    original_text: str | None = Field(None, description="the text before the first edit")
    deleted: bool = Field(False, description="the sender deleted (revoked) it")
    reactions: list[dict[str, Any]] | None = Field(
        None, description="one per side: {by: inbound|outbound, emoji, at}"
    )


class MessagesOut(BaseModel):
    lead_id: UUID
    messages: list[MessageOut]


class StatsOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_temperature: dict[str, int] = Field(description="'unset' counts leads without one")


class AuditEntryOut(WithPrincipal):
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
    outcome: Outcome | None = Field(description="null only if the views could not catch up in time")
    outcome_reason: str | None
    status_change: StatusChangeOut | None = None
    note: NoteOut | None = None
    lead: LeadOut | None
