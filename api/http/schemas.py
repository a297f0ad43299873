"""Request and response bodies of the HTTP API (validated at the edge)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from domain.values import ChatPhase, LeadStatus, Temperature


def _no_nul(value: Any) -> Any:
    """Text, also nested in lists and objects (keys too), without NUL: PostgreSQL text
    cannot hold it, so it would be in the ledger but never in the views."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and "\x00" in node:
            raise ValueError("must not contain NUL characters")
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return value


def _not_bool(value: Any) -> Any:
    # pydantic reads true as 1: a score is a number, never a flag.
    if isinstance(value, bool):
        raise ValueError("must be an integer 0..100, not a boolean")
    return value


# How far ahead of our clock a source's time may be: a time in the future would outrank
# every later report (values follow the sources' time, docs/read-models.md).
FUTURE_SLACK = timedelta(minutes=5)


def _source_time(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if utc > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError("must not be in the future")
    return utc


NoNul = AfterValidator(_no_nul)
SourceTime = Annotated[datetime, AfterValidator(_source_time)]
Text = Annotated[str, Field(min_length=1, max_length=200), NoNul]
Score = Annotated[int, Field(ge=0, le=100), BeforeValidator(_not_bool)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SarahState(_Strict):
    """Sarah's phase update. The lead stores `extracted_data` typed (domain/extracted.py)."""

    contact_phone: Annotated[str, Field(min_length=1, max_length=40), NoNul]
    state: ChatPhase
    extracted_data: Annotated[dict[str, Any], Field(max_length=100), NoNul] = Field(
        default_factory=dict,
        description="Free-form, bounded: at most 100 keys per object and 100 items per list "
        "(pain_points…), texts of at most 2,000 characters, keys of at most 200; past a "
        "bound the answer is 422 naming the value (`extracted_data.pain_points`).",
    )
    lead_score: Score | None = None
    lead_temperature: Temperature | None = None
    outcome: Annotated[str | None, Field(max_length=64), NoNul] = None
    # When Sarah said it (ISO 8601 with an offset; naive is UTC). Without it the report's
    # time is its arrival, so a late report may replace a newer one's phase and score.
    occurred_at: SourceTime | None = None


# The API key decides the source and the actor (docs/security.md): a body may repeat
# them, or leave them out; naming anyone else is a 403. A console key names its person.
SAID_BY = "the key's (omit it, or repeat it: another value is refused with 403)"
ON_BEHALF_OF = Field(
    None, description="console keys only: the person acting (recorded as 'person via console')"
)


class StatusCommand(_Strict):
    status: LeadStatus
    source: Literal["human", "brain"] | None = Field(None, description=SAID_BY)
    actor: Text | None = Field(None, description=SAID_BY)
    reason: Annotated[str | None, Field(max_length=2000), NoNul] = None
    on_behalf_of: Text | None = ON_BEHALF_OF


class ReleaseCommand(_Strict):
    actor: Text | None = Field(None, description=SAID_BY)
    on_behalf_of: Text | None = ON_BEHALF_OF


class NoteCommand(_Strict):
    content: Annotated[str, Field(min_length=1, max_length=10_000), NoNul]
    author: Text | None = Field(None, description=SAID_BY)
    source: Literal["human", "sarah", "brain"] | None = Field(None, description=SAID_BY)
    on_behalf_of: Text | None = ON_BEHALF_OF


class FactOut(BaseModel):
    lead_id: UUID
    fact: str


class PartOut(BaseModel):
    """One part of a webhook delivery (a message, status, echo, contact, Kapso event…) and
    what became of it: `recorded` (its facts are in the ledger, now or since an earlier
    delivery), `kept_unhandled` (kept raw, `reason` says why; GET /deliveries/unhandled
    lists it) or `empty` (nothing to record, e.g. a contact without a name)."""

    part: str  # where it was: "entry.0.changes.0.value.messages.1", "data.2", "body"
    kind: str | None  # "message:text", "status:read", "echo:text", "conversation:ended"…
    outcome: Literal["recorded", "kept_unhandled", "empty"]
    facts: list[FactOut] = []
    reason: str | None = None


class AcceptedOut(BaseModel):
    """The answer to a delivery; a retried delivery gets the same answer."""

    status: Literal["accepted"] = "accepted"
    facts: list[FactOut]
    kept_unhandled: int = 0
    parts: list[PartOut] = []


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
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )
    limit: int


# Positions and notification ids are BIGINT in the event store: larger is no position.
LEDGER_POSITION = Field(0, ge=0, le=2**63 - 1, description="Continue after this position")


class EventsParams(BaseModel):
    """GET /leads/{lead_id}/events: a page of the lead's ledger, oldest first."""

    model_config = ConfigDict(extra="ignore")

    after: int = LEDGER_POSITION
    limit: int = Field(1000, ge=1, le=1000, description="Page size, 1..1000")


class UnhandledParams(BaseModel):
    """GET /deliveries/unhandled: a page of the workspace's kept deliveries, oldest first."""

    model_config = ConfigDict(extra="ignore")

    after: int = LEDGER_POSITION
    limit: int = Field(100, ge=1, le=1000, description="Page size, 1..1000")


class UnhandledOut(BaseModel):
    position: int = Field(description="Its place in the ledger; pages continue after it")
    id: UUID
    channel: str
    event_type: str | None
    reason: str
    received_at: datetime
    body: str | None  # None once erased (docs/erasure.md)
    # True once `leadledger deliveries reingest` translated it again (its facts are in
    # the ledger; the delivery itself stays, as a record of what was said).
    reingested: bool = False


class UnhandledListOut(BaseModel):
    deliveries: list[UnhandledOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )
    limit: int


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None
    role: str | None = Field(None, description="403: the key's role")
    permission: str | None = Field(None, description="403: the permission the role lacks")


class ErrorOut(BaseModel):
    error: ErrorDetail
