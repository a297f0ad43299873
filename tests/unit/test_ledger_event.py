"""The reducer reads typed events: the store's own object, or one built from plain values."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.envelope import Said
from domain.lead import Lead
from domain.lead_events import NoteAdded
from domain.policy import DEFAULT_POLICY
from domain.reducer import LedgerEvent, replay
from projections.source import to_ledger_event

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_events_read_from_the_store_reach_the_reducer_as_the_stores_own_objects() -> None:
    lead = Lead(workspace="acme", phone="+6281234567890", source="kapso", actor="k", received_at=AT)
    lead.add_note(Said("human", "ani", AT, idempotency_key="n1"), "call back")
    stored = lead.collect_events()
    events = [to_ledger_event(e, i) for i, e in enumerate(stored, 1)]
    assert [e.fact for e in events] == stored
    assert events[1].type == "NoteAdded"
    assert events[1].data["content"] == "call back"
    view, _history, notes, _messages = replay(events, DEFAULT_POLICY)
    assert view is not None
    assert view.last_contact_at == AT
    assert [(n.actor, n.content) for n in notes] == [("ani", "call back")]


def test_an_event_made_of_plain_values_is_typed_and_a_missing_field_reads_none() -> None:
    event = LedgerEvent(Lead.create_id("acme", "+62"), 2, 2, "NoteAdded", AT, {"content": "x"})
    assert isinstance(event.fact, NoteAdded)
    assert event.fact.content == "x"
    assert vars(event.fact)["actor"] is None  # typed str, but absent: as a shredded field
    assert LedgerEvent(event.lead_id, 3, 3, "SomethingNew", AT, {}).fact is None
