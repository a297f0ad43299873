"""The change feed's items: what one applied event changed, in a small vocabulary
(docs/changes.md). A pure function of the event and the reducer's output, so the feed is a
projection like the others: a rebuild or a policy change re-derives it.

Each item keeps its values in two parts: `data` (the audit skeleton: types, statuses,
counts, times) and `personal` (texts, names, message ids, Sarah's data), which an erasure
blanks, so an erased lead's changes keep no personal value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from uuid import UUID

from domain.lead_events import (
    InboundMessageReceived,
    MessageStatusChanged,
    NoteAdded,
    OutboundMessageSent,
    PersonalDataErased,
    Registered,
    SarahPhaseReported,
)
from domain.reducer.contact_view import ContactView, Effects, StatusHistoryEntry
from domain.reducer.fold import PERSONAL_COLUMNS
from domain.reducer.ledger_event import LedgerEvent

# The change types, written once: the API's schemas take the Literal, the rest the tuple.
ChangeType = Literal[
    "lead.created",
    "lead.status_changed",
    "lead.updated",
    "message.received",
    "message.sent",
    "message.status",
    "note.added",
    "sarah.phase",
    "lead.erased",
    "status.suppressed",
]
VOCABULARY: tuple[str, ...] = get_args(ChangeType)
# A cursor's item number meaning "after every item of its position" (cursor "P").
WHOLE_POSITION = 999_999_999
# Every event moves the first two: a diff of them would say nothing; `source_times` is the
# reducer's bookkeeping of when each merged value was said (the values' diffs say it).
UNDIFFED = frozenset({"version", "updated_at", "source_times"})
PERSONAL_FIELDS = frozenset({*PERSONAL_COLUMNS, "extracted"})
# Values `plain` returns as they are, checked by exact class: a set lookup instead of an
# isinstance chain (a new lead's first item diffs every field of the view).
_SCALARS = frozenset({str, int, float, bool, type(None)})
_ABSENT = object()  # a field the view before did not have (None before the first event)


@dataclass(frozen=True)
class ChangeItem:
    position: int  # the event's ledger position (notification id)
    seq: int  # the item's place among the event's items
    lead_id: str
    workspace: str
    type: str
    at: datetime  # the source's time
    recorded_at: datetime
    source: str | None
    actor: str | None
    principal: dict[str, Any] | None  # the API key's, when a key made the command
    decision: dict[str, Any] | None
    data: dict[str, Any]
    personal: dict[str, Any] | None

    @property
    def id(self) -> str:
        return f"{self.position}.{self.seq}"

    def public(self) -> dict[str, Any]:
        """The item as clients see it (API, stream, webhooks): the personal part merged into
        `data` (gone once the lead is erased); `lead.updated` merges both halves of `fields`."""
        data = dict(self.data)
        for key, value in (self.personal or {}).items():
            if key == "fields" and isinstance(value, dict):
                data["fields"] = {**data.get("fields", {}), **value}
            else:
                data[key] = value
        return {
            "id": self.id,
            "position": self.position,
            "lead_id": self.lead_id,
            "type": self.type,
            "at": plain(self.at),
            "recorded_at": plain(self.recorded_at),
            "source": self.source,
            "actor": self.actor,
            "principal": self.principal,
            "decision": self.decision,
            "data": data,
        }


def changes_of(
    before: ContactView | None, event: LedgerEvent, effects: Effects
) -> list[ChangeItem]:
    """The feed items of one event, in order: what the source said, the status decisions,
    then `lead.updated` with every field that changed (before and after)."""
    view = effects.view
    if before is not None and view is before:
        return []  # an already-applied event (position <= version) changes nothing
    # (type, decision, skeleton, personal values already as JSON values)
    said: list[tuple[str, dict[str, Any] | None, dict[str, Any], dict[str, Any]]] = []
    fact = event.fact
    headline = _headline(fact)
    if headline is not None:
        said.append((headline[0], None, headline[1], plain(headline[2])))
    for entry in effects.history:
        if entry.outcome != "no_change":  # the proposal's own item says it; nothing moved
            kind, decision, skeleton, private = _decision(entry)
            said.append((kind, decision, skeleton, plain(private)))
    fields = diff(before, view)  # JSON values already: not walked again
    if fields:
        public = {k: v for k, v in fields.items() if k not in PERSONAL_FIELDS}
        private = {k: v for k, v in fields.items() if k in PERSONAL_FIELDS}
        said.append(("lead.updated", None, {"fields": public}, {"fields": private}))
    data = event.data
    principal = data.get("principal")
    principal = plain(principal) if isinstance(principal, dict) else None
    erased = view.erased_at is not None
    return [
        ChangeItem(
            position=int(event.notification_id or 0),
            seq=seq,
            lead_id=str(event.lead_id),
            workspace=view.workspace,
            type=kind,
            at=event.at,
            recorded_at=event.recorded_at,
            source=_text(data.get("source")),
            actor=_text(data.get("actor")),
            principal=principal,
            decision=decision,
            data=public_part,
            personal=None if erased else private_part,
        )
        for seq, (kind, decision, public_part, private_part) in enumerate(said)
    ]


def diff(before: ContactView | None, after: ContactView) -> dict[str, dict[str, Any]]:
    """Every field whose value changed, as JSON values: {field: {before, after}}."""
    old = {} if before is None else before.__dict__
    changed: dict[str, dict[str, Any]] = {}
    for name, value in after.__dict__.items():
        was = old.get(name, _ABSENT)
        # The reducer carries unchanged fields over as the same objects: most fields stop
        # at the identity check, with one dict lookup.
        if was is value or name in UNDIFFED:
            continue
        if was is _ABSENT:
            was = None
        elif was == value:
            continue
        changed[name] = {
            "before": was if was.__class__ in _SCALARS else plain(was),
            "after": value if value.__class__ in _SCALARS else plain(value),
        }
    return changed


def _headline(fact: Any) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """The item saying what the source said: (type, skeleton, personal values)."""
    match fact:
        case Registered():
            return "lead.created", {}, {"phone": fact.phone}
        case InboundMessageReceived():
            return (
                "message.received",
                {"message_type": fact.message_type},
                {"message_id": fact.message_id, "text": fact.text},
            )
        case OutboundMessageSent():
            return (
                "message.sent",
                {"message_type": fact.message_type, "origin": fact.origin},
                {"message_id": fact.message_id, "text": fact.text},
            )
        case MessageStatusChanged():
            return (
                "message.status",
                {
                    "status": fact.status,
                    "error_code": fact.error_code,
                    "error_title": fact.error_title,
                },
                {"message_id": fact.message_id},
            )
        case NoteAdded():
            return "note.added", {}, {"content": fact.content}
        case SarahPhaseReported():
            return (
                "sarah.phase",
                {"chat_phase": fact.chat_phase, "outcome": fact.outcome},
                {
                    "lead_score": fact.lead_score,
                    "lead_temperature": fact.lead_temperature,
                    "extracted_data": fact.extracted_data,
                },
            )
        case PersonalDataErased():
            return "lead.erased", {"reason": fact.reason}, {}
        case _:
            return None


def _decision(
    entry: StatusHistoryEntry,
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A status proposal judged by the policy: applied, or suppressed (and why)."""
    decision = {
        "outcome": entry.outcome,
        "reason": entry.outcome_reason,
        "from": entry.from_status,
        "to": entry.to_status,
        "origin": entry.origin,
    }
    kind = "lead.status_changed" if entry.outcome == "applied" else "status.suppressed"
    skeleton = {"from": entry.from_status, "to": entry.to_status}
    # The reason a human or an import gave is sealed in the ledger; Sarah's is derived.
    private = {"reason": entry.reason}
    return kind, decision, skeleton, private


def plain(value: Any) -> Any:
    """A JSON value: datetimes as UTC ISO text (naive ones are UTC), UUIDs as text,
    containers recursively."""
    cls = value.__class__
    if cls in _SCALARS:
        return value
    if cls is dict:
        return {
            k if k.__class__ is str else str(k): v if v.__class__ in _SCALARS else plain(v)
            for k, v in value.items()
        }
    if isinstance(value, datetime):
        zone = value.tzinfo
        if zone is UTC:
            return value.isoformat()
        if zone is None:  # naive: UTC, written as the aware value would be
            return value.isoformat() + "+00:00"
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if v.__class__ in _SCALARS else plain(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
