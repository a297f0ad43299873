"""One timeline for the lead page: messages in and out with their delivery ticks, Sarah's
phases, notes, status requests with the policy's decision, erasure — oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.reducer.contact_view import MessageEntry, NoteEntry, StatusHistoryEntry

TICKS = {"sent": "✓", "delivered": "✓✓", "read": "✓✓ read", "failed": "✗ failed"}
_EVENT_KINDS = {"SarahPhaseReported", "PersonalDataErased", "ConversationChanged"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    kind: str  # inbound | outbound | sarah | note | status | erasure | conversation
    at: datetime | None
    title: str
    body: str = ""
    by: str = ""
    detail: dict[str, str] = field(default_factory=dict)


def event_entries(events: Iterable[Any]) -> list[Entry]:
    """The entries only the ledger has (no view keeps them): Sarah's phases, erasure,
    conversation changes."""
    return [_event(e) for e in events if type(e).__name__ in _EVENT_KINDS]


def timeline(
    messages: Iterable[MessageEntry],
    history: Iterable[StatusHistoryEntry],
    notes: Iterable[NoteEntry],
    from_events: Iterable[Entry],
    as_of: datetime | None = None,
) -> list[Entry]:
    entries = [
        *(_message(m) for m in messages),
        *(_status(s) for s in history),
        *(Entry("note", n.at, "Note", n.content, f"{n.source}: {n.actor}") for n in notes),
        *from_events,
    ]
    if as_of is not None:
        entries = [e for e in entries if e.at is not None and e.at <= as_of]
    return sorted(entries, key=lambda e: e.at or _EPOCH)


def _message(m: MessageEntry) -> Entry:
    inbound = m.direction == "inbound"
    detail = {} if m.status is None else {"status": TICKS.get(m.status, m.status)}
    if m.error_title:
        detail["error"] = f"{m.error_code or ''} {m.error_title}".strip()
    text = "(deleted)" if m.deleted else (m.text or f"[{m.type or 'message'}]")
    return Entry(
        "inbound" if inbound else "outbound",
        m.at or m.status_at,
        "Message in" if inbound else "Message out",
        text,
        "lead" if inbound else ("staff (WhatsApp app)" if m.echo else "business"),
        detail,
    )


def _status(s: StatusHistoryEntry) -> Entry:
    detail = {"decision": s.outcome, "why": s.outcome_reason, "origin": s.origin}
    if s.reason:
        detail["reason"] = s.reason
    title = f"Status {s.from_status or '—'} → {s.to_status}"
    return Entry("status", s.at, title, "", f"{s.source}: {s.actor}", detail)


def _event(event: Any) -> Entry:
    kind = type(event).__name__
    at = event.received_at
    by = f"{event.source}: {event.actor}"
    if kind == "SarahPhaseReported":
        detail = {
            k: str(v)
            for k, v in (
                ("score", event.lead_score),
                ("temperature", event.lead_temperature),
                ("outcome", event.outcome),
            )
            if v is not None
        }
        return Entry("sarah", at, f"Sarah: {event.chat_phase}", "", by, detail)
    if kind == "PersonalDataErased":
        return Entry("erasure", at, "Personal data erased", event.reason, by)
    return Entry("conversation", at, f"Conversation {event.change}", "", by)
