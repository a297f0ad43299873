"""The contact view state the reducer folds a lead's events into, and the rows one event
adds (status history, notes, messages)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from domain.policy import StatusState
from domain.values import LeadStatus


@dataclass(frozen=True, kw_only=True)
class ContactView:
    lead_id: UUID
    workspace: str
    phone: str | None  # None once erased
    name: str | None = None
    sarah_name: str | None = None
    business_type: str | None = None
    domisili: str | None = None
    business_duration: str | None = None
    pain_points: list[str] | None = None
    priority: str | None = None
    urgency_level: str | None = None
    lead_score: int | None = None
    lead_temperature: str | None = None
    closing_technique_used: str | None = None
    objection_raised: str | None = None
    extracted: dict[str, Any] = field(default_factory=dict)
    lead_status: str | None = LeadStatus.NEW.value
    status_source: str | None = None
    status_updated_at: datetime | None = None
    status_updated_by: str | None = None
    status_held: bool = False
    chat_phase: str | None = None
    conversation_status: str | None = None
    # The source's time of each merged value: name, lead_score, lead_temperature,
    # chat_phase, conversation.<opened|closed|handover>, extracted {key: time}
    # (domain/reducer/source_times.py).
    source_times: dict[str, Any] = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_contact_at: datetime | None = None
    inbound_count: int = 0
    outbound_count: int = 0
    version: int
    # Set by an erasure (docs/erasure.md): the personal columns above are then None.
    erased_at: datetime | None = None
    erased_by: str | None = None
    erasure_reason: str | None = None
    # Other ids of the person (docs/read-models.md "One person, many ids"): the BSUID and
    # username, every id linked to this lead ({kind, identity, reason}), and, on a lead
    # whose person's history another lead holds, that lead's id.
    wa_user_id: str | None = None
    username: str | None = None
    linked_identities: list[dict[str, Any]] | None = None
    held_by: str | None = None
    # Content kept whole (domain/reducer/content.py); each carries "at" (UTC ISO text).
    first_referral: dict[str, Any] | None = None  # the first Click-to-WhatsApp ad
    last_referral: dict[str, Any] | None = None
    flow_answers: dict[str, Any] | None = None  # {"answers": parsed response_json, "at"}
    last_location: dict[str, Any] | None = None

    def status_state(self) -> StatusState:
        return StatusState(
            self.lead_status,
            self.status_source,
            self.status_held,
            self.status_updated_at,
            self.status_updated_by,
        )

    def to_row(self) -> dict[str, Any]:
        """Plain values for storage (a fresh copy); datetimes stay datetimes."""
        row = asdict(self)
        row["lead_id"] = str(self.lead_id)
        return row


@dataclass(frozen=True)
class StatusHistoryEntry:
    lead_id: UUID
    position: int
    at: datetime
    source: str
    actor: str
    from_status: str | None
    to_status: str
    reason: str | None
    outcome: str
    outcome_reason: str
    origin: str
    # The API key's principal (docs/security.md); None: no key said it, or older events.
    principal: str | None = None
    principal_role: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class NoteEntry:
    lead_id: UUID
    position: int
    at: datetime
    actor: str
    source: str
    content: str
    principal: str | None = None
    principal_role: str | None = None
    key_id: str | None = None


def principal_columns(principal: Any) -> dict[str, str | None]:
    """A stored `principal` as the history's and notes' columns (none: unknown)."""
    if not isinstance(principal, dict):
        return {}
    return {
        "principal": _text_or_none(principal.get("name")),
        "principal_role": _text_or_none(principal.get("role")),
        "key_id": _text_or_none(principal.get("key_id")),
    }


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class MessageEntry:
    lead_id: UUID
    message_id: str
    direction: str | None = None
    type: str | None = None
    text: str | None = None
    status: str | None = None
    error_code: int | None = None
    at: datetime | None = None
    status_at: datetime | None = None
    error_title: str | None = None
    echo: bool = False  # typed by staff in the WhatsApp Business app
    edited: bool = False
    original_text: str | None = None  # the text before the first edit
    deleted: bool = False  # the sender revoked it
    reactions: list[dict[str, Any]] | None = None  # {"by": direction, "emoji", "at"}


@dataclass(frozen=True)
class Effects:
    """What one event changes: the new view, and the rows to add (history, notes) or upsert."""

    view: ContactView
    history: list[StatusHistoryEntry] = field(default_factory=list)
    notes: list[NoteEntry] = field(default_factory=list)
    messages: list[MessageEntry] = field(default_factory=list)
    erased: bool = False  # blank the lead's stored message texts, notes and reasons too


_D = TypeVar("_D")


def replace(entry: _D, /, **changes: Any) -> _D:
    """`dataclasses.replace` for these frozen dataclasses, without re-running `__init__`:
    a new object with the same fields but `changes` (5x faster: rebuilds call it for every
    event). Valid because they have no `__post_init__` and no `init=False` fields."""
    copy = object.__new__(type(entry))
    fields = copy.__dict__
    fields.update(entry.__dict__)
    fields.update(changes)
    return copy


def latest(current: datetime | None, at: datetime) -> datetime:
    """Time fields keep the latest source time, so late deliveries never move them back."""
    return at if current is None or at > current else current
