"""Replay = live across an erasure: folding a lead's events live and then its erasure (with
the stored rows blanked as projections/erasure.py does) ends where a rebuild from the
shredded events ends (personal fields read as None, message ids as pseudonyms)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given

from domain.personal import personal_fields, pseudonym, pseudonyms, redacted_event_fields
from domain.policy import DEFAULT_POLICY
from domain.reducer import LedgerEvent, MessageEntry, replay
from tests.unit.test_view import Replayed, ev, streams


def shredded(event: LedgerEvent) -> LedgerEvent:
    """The event as it reads once its lead's key is destroyed (adapters/eventstore/sealing.py)."""
    data = dict(event.data)
    names = personal_fields(event.type, data)
    values = {name: data[name] for name in names}
    data.update(redacted_event_fields(names), **pseudonyms(values))
    return replace(event, data=data)


def blanked(folded: Replayed) -> Replayed:
    """What projections/erasure.py does to the stored rows of an erased lead."""
    view, history, notes, messages = folded
    return (
        view,
        [h if h.origin == "sarah_phase" else replace(h, reason=None) for h in history],
        [replace(n, content="") for n in notes],
        {
            pseudonym(k): replace(m, message_id=pseudonym(m.message_id), text=None)
            for k, m in messages.items()
        },
    )


def erasure(position: int) -> LedgerEvent:
    return ev(position, "PersonalDataErased", source="human", actor="dpo", reason="req 9")


@given(streams)
def test_live_then_erased_equals_a_rebuild_from_shredded_events(
    events: list[LedgerEvent],
) -> None:
    erased = [*events, erasure(len(events) + 1)]

    live = blanked(replay(erased, DEFAULT_POLICY))
    rebuilt = replay([shredded(e) for e in erased], DEFAULT_POLICY)

    assert live == rebuilt
    view = live[0]
    assert view is not None
    assert (view.phone, view.name, view.extracted, view.erased_by) == (None, None, {}, "dpo")


@given(streams)
def test_erasure_keeps_the_audit_skeleton(events: list[LedgerEvent]) -> None:
    before = replay(events, DEFAULT_POLICY)[0]
    after = replay([*events, erasure(len(events) + 1)], DEFAULT_POLICY)[0]
    assert before is not None
    assert after is not None
    kept: dict[str, Any] = {
        k: getattr(before, k)
        for k in (
            "lead_status",
            "status_source",
            "chat_phase",
            "conversation_status",
            "inbound_count",
            "outbound_count",
            "created_at",
            "last_message_at",
        )
    }
    assert {k: getattr(after, k) for k in kept} == kept
    assert after.erased_at is not None


def test_message_entries_are_keyed_by_pseudonym_after_erasure() -> None:
    entry = MessageEntry(ev(1, "Registered").lead_id, "wamid.X")
    assert pseudonym(entry.message_id) == pseudonym(pseudonym(entry.message_id))
