"""Request and response bodies of the HTTP API (validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.values import ChatPhase, LeadStatus, Temperature

Text = Field(min_length=1, max_length=200)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SarahState(_Strict):
    """Sarah's phase update. Extracted values are kept as given, nulls included."""

    contact_phone: str = Field(min_length=1, max_length=40)
    state: ChatPhase
    extracted_data: dict[str, Any] = Field(default_factory=dict, max_length=100)
    lead_score: int | None = Field(default=None, ge=0, le=100)
    lead_temperature: Temperature | None = None
    outcome: str | None = Field(default=None, max_length=64)


class StatusCommand(_Strict):
    status: LeadStatus
    source: Literal["human", "brain"]
    actor: str = Text
    reason: str | None = Field(default=None, max_length=2000)


class ReleaseCommand(_Strict):
    actor: str = Text


class NoteCommand(_Strict):
    content: str = Field(min_length=1, max_length=10_000)
    author: str = Text
    source: Literal["human", "sarah", "brain"] = "human"


class FactOut(BaseModel):
    lead_id: UUID
    fact: str


class AcceptedOut(BaseModel):
    """The answer to a delivery; a retried delivery gets the same answer."""

    status: Literal["accepted"] = "accepted"
    facts: list[FactOut]
    kept_unhandled: int = 0


class LeadRefOut(BaseModel):
    lead_id: UUID
    workspace: str
    phone: str


class CommandOut(BaseModel):
    lead_id: UUID
    fact: str


class EventOut(BaseModel):
    position: int
    type: str
    recorded_at: datetime
    source: str | None
    actor: str | None
    occurred_at: datetime | None
    received_at: datetime | None
    idempotency_key: str | None
    data: dict[str, Any]


class EventsOut(BaseModel):
    lead_id: UUID
    events: list[EventOut]


class UnhandledOut(BaseModel):
    id: UUID
    channel: str
    event_type: str | None
    reason: str
    received_at: datetime
    body: str


class UnhandledListOut(BaseModel):
    deliveries: list[UnhandledOut]


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail
