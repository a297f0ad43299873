"""The view reducer: what each event does, and replay = live by construction."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import pairwise, permutations
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.lead_events import SarahPhaseReported
from domain.policy import DEFAULT_POLICY, Policy, load_policy
from domain.reducer import (
    ContactView,
    Effects,
    LedgerEvent,
    MessageEntry,
    NoteEntry,
    StatusHistoryEntry,
    apply,
    replay,
)
from tests.conftest import examples
from tests.support import sample_json

LEAD = UUID("00000000-0000-4000-8000-000000000001")
T0 = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
Replayed = tuple[
    ContactView | None, list[StatusHistoryEntry], list[NoteEntry], dict[str, MessageEntry]
]


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def ev(position: int, type_: str, **data: Any) -> LedgerEvent:
    """An event as stored: provenance attributes plus the event's own."""
    data.setdefault("source", "kapso")
    data.setdefault("actor", f"{data['source']}-1")
    data.setdefault("received_at", at(position))
    data.setdefault("occurred_at", None)
    data.setdefault("idempotency_key", None)
    if type_ == "SarahPhaseReported":  # Sarah's object as given: stored typed (v1 -> v2)
        SarahPhaseReported.upcast_v1_v2(data)
    return LedgerEvent(LEAD, position, position, type_, at(position), data)


def registered() -> LedgerEvent:
    return ev(1, "Registered", workspace="acme", phone="+6281234567890")


def sarah(position: int, name: str, outcome: str | None = None) -> LedgerEvent:
    body = sample_json(f"sarah-{name}.json")
    return sarah_phase(
        position,
        body["state"],
        body["extracted_data"],
        body["lead_score"],
        body["lead_temperature"],
        outcome,
    )


def sarah_phase(
    position: int,
    phase: str,
    extracted: dict[str, Any] | None = None,
    score: int | None = None,
    temperature: str | None = None,
    outcome: str | None = None,
) -> LedgerEvent:
    return ev(
        position,
        "SarahPhaseReported",
        chat_phase=phase,
        extracted_data=extracted or {},
        lead_score=score,
        lead_temperature=temperature,
        outcome=outcome,
        source="sarah",
    )


def status(position: int, to: str, source: str, reason: str | None = None) -> LedgerEvent:
    return ev(position, "StatusRequested", status=to, reason=reason, source=source)


def view_of(*events: LedgerEvent, policy: Policy = DEFAULT_POLICY) -> ContactView:
    view = replay([registered(), *events], policy)[0]
    assert view is not None
    return view


# -- single events ---------------------------------------------------------------------------


def test_a_lead_starts_new_with_nobody_owning_the_status() -> None:
    view = view_of()
    assert (view.lead_status, view.status_source, view.status_held) == ("new", None, False)
    assert (view.workspace, view.phone, view.version) == ("acme", "+6281234567890", 1)
    assert view.conversation_status is None
    assert view.created_at == at(1)


def test_sarah_phases_fill_the_view_and_nulls_never_blank_earlier_data() -> None:
    view = view_of(
        sarah(2, "phase1-gathering"), sarah(3, "phase2-interest"), sarah(4, "phase3-closing")
    )
    assert (view.sarah_name, view.business_type, view.domisili) == (
        "Budi",
        "online shop",
        "Bandung",
    )
    assert view.business_duration == "3 tahun"
    assert view.pain_points == ["kewalahan balas chat", "miss message malam hari"]
    assert (view.priority, view.urgency_level) == ("kewalahan balas chat", "high")
    assert (view.closing_technique_used, view.objection_raised) == ("summary", "harga")
    assert (view.lead_score, view.lead_temperature) == (82, "hot")
    assert (view.chat_phase, view.lead_status, view.status_source) == (
        "close_attempt",
        "contacted",
        "sarah",
    )
    assert view.extracted["name"] == "Budi"


def test_missing_score_and_temperature_keep_earlier_ones_and_unknown_keys_are_kept() -> None:
    view = view_of(
        sarah(2, "phase1-gathering"),
        sarah_phase(3, "listening", {"budget": "5jt", "domisili": " "}),
    )
    assert (view.lead_score, view.lead_temperature) == (35, "lukewarm")
    assert view.extracted["budget"] == "5jt"
    assert view.domisili == "Bandung"


def test_sarah_status_goes_through_the_policy_with_history() -> None:
    effects = apply(view_of(), sarah_phase(2, "listening"), DEFAULT_POLICY)
    (entry,) = effects.history
    assert (entry.origin, entry.source, entry.from_status, entry.to_status) == (
        "sarah_phase",
        "sarah",
        "new",
        "qualified",
    )
    assert (entry.outcome, entry.position, entry.reason) == ("applied", 2, "sarah phase listening")
    assert apply(view_of(), sarah_phase(2, "mystery"), DEFAULT_POLICY).history == []


def test_completed_lost_archives() -> None:
    assert view_of(sarah_phase(2, "completed", outcome="Not Interested")).lead_status == "archived"
    assert view_of(sarah_phase(2, "completed", outcome="won")).lead_status == "converted"


def test_status_flip_flop_between_bot_and_human_is_suppressed() -> None:
    events = [
        sarah_phase(2, "listening"),
        status(3, "archived", "human", "said no"),
        sarah_phase(4, "close_attempt"),
        status(5, "contacted", "brain"),
        sarah_phase(6, "discover_interest"),
    ]
    view, history, _, _ = replay([registered(), *events], DEFAULT_POLICY)
    assert view is not None
    assert (view.lead_status, view.status_source, view.status_held) == ("archived", "human", True)
    assert [h.outcome for h in history] == ["applied", "applied"] + ["suppressed"] * 3
    assert {h.outcome_reason for h in history[2:]} == {"held_by_human"}
    assert history[1].reason == "said no"
    assert view.last_contact_at == at(3)


def test_release_lets_sarah_move_forward_again() -> None:
    view = view_of(
        status(2, "qualified", "human"),
        sarah_phase(3, "close_attempt"),
        ev(4, "StatusHoldReleased", source="human"),
        sarah_phase(5, "close_attempt"),
    )
    assert (view.lead_status, view.status_source, view.status_held) == ("contacted", "sarah", False)


def test_lead_status_and_conversation_status_are_independent() -> None:
    steps = [
        (
            ev(2, "ConversationChanged", conversation_id="c1", change="opened", detail=None),
            "new",
            "open",
        ),
        (status(3, "converted", "human"), "converted", "open"),
        (sarah_phase(4, "handoff"), "converted", "handover"),
        (
            ev(5, "ConversationChanged", conversation_id="c1", change="opened", detail=None),
            "converted",
            "handover",
        ),
        (
            ev(6, "ConversationChanged", conversation_id="c1", change="ended", detail=None),
            "converted",
            "closed",
        ),
        (status(7, "archived", "human"), "archived", "closed"),
        (
            ev(8, "ConversationChanged", conversation_id="c2", change="opened", detail=None),
            "archived",
            "open",
        ),
    ]
    view = view_of()
    for event, lead_status, conversation_status in steps:
        view = apply(view, event, DEFAULT_POLICY).view
        assert (view.lead_status, view.conversation_status) == (lead_status, conversation_status)


def test_contact_name_and_sarah_name_are_separate() -> None:
    view = view_of(
        ev(2, "ContactNameReported", name="Budi Santoso"),
        sarah(3, "phase1-gathering"),
        ev(4, "ContactNameReported", name=""),
    )
    assert (view.name, view.sarah_name) == ("Budi Santoso", "Budi")


def test_notes_and_last_contact() -> None:
    bot = apply(view_of(), ev(2, "NoteAdded", content="auto", source="brain"), DEFAULT_POLICY)
    assert bot.notes == [NoteEntry(LEAD, 2, at(2), "brain-1", "brain", "auto")]
    assert bot.view.last_contact_at is None
    human = apply(bot.view, ev(3, "NoteAdded", content="called", source="human"), DEFAULT_POLICY)
    assert human.view.last_contact_at == at(3)


def test_messages_count_and_keep_the_latest_source_time() -> None:
    inbound = ev(
        2,
        "InboundMessageReceived",
        message_id="m1",
        message_type="text",
        text="Halo",
        media=None,
        conversation_id="c1",
        occurred_at=at(-10),
    )
    late = ev(
        3,
        "InboundMessageReceived",
        message_id="m0",
        message_type="text",
        text="old",
        media=None,
        conversation_id="c1",
        occurred_at=at(-20),
    )
    out = ev(
        4,
        "OutboundMessageSent",
        message_id="m2",
        message_type="text",
        text="Hai",
        origin="cloud_api",
        conversation_id="c1",
        source="sarah",
    )
    view, _, _, messages = replay([registered(), inbound, late, out], DEFAULT_POLICY)
    assert view is not None
    assert (view.inbound_count, view.outbound_count) == (2, 1)
    assert view.last_inbound_at == at(-10)  # a late delivery does not move it back
    assert (view.last_outbound_at, view.last_message_at) == (at(4), at(4))
    assert view.conversation_status == "open"
    assert view.last_contact_at is None  # Sarah is not a human
    assert messages["m1"] == MessageEntry(LEAD, "m1", "inbound", "text", "Halo", at=at(-10))


def test_a_human_outbound_message_is_a_handover_and_a_contact() -> None:
    view = view_of(
        ev(
            2,
            "OutboundMessageSent",
            message_id="m",
            message_type="text",
            text="x",
            origin="business_app",
            conversation_id=None,
        )
    )
    assert (view.conversation_status, view.last_contact_at) == ("handover", at(2))
    late = ev(
        3,
        "OutboundMessageSent",
        message_id="m0",
        message_type="text",
        text="old",
        source="human",
        origin=None,
        conversation_id=None,
        occurred_at=at(-5),
    )
    assert apply(view, late, DEFAULT_POLICY).view.last_contact_at == at(2)


def test_message_statuses_reach_the_same_entry_in_any_order() -> None:
    facts: list[tuple[str, dict[str, Any]]] = [
        (
            "OutboundMessageSent",
            {
                "message_id": "m",
                "message_type": "text",
                "text": "Hai",
                "origin": None,
                "conversation_id": None,
                "occurred_at": at(0),
            },
        ),
        *[
            (
                "MessageStatusChanged",
                {
                    "message_id": "m",
                    "status": s,
                    "error_code": code,
                    "error_title": None,
                    "occurred_at": at(minute),
                },
            )
            for s, code, minute in [
                ("sent", None, 1),
                ("failed", 131026, 2),
                ("delivered", None, 3),
                ("read", None, 5),
                ("read", None, 4),
            ]
        ],
    ]
    finals = set()  # a repeated status (another device) keeps its earliest report
    for order in permutations(facts):
        events = [ev(i + 2, t, **d) for i, (t, d) in enumerate(order)]
        finals.add(replay([registered(), *events], DEFAULT_POLICY)[3]["m"])
    assert finals == {
        MessageEntry(LEAD, "m", "outbound", "text", "Hai", "read", None, at(0), at(4))
    }


@pytest.mark.parametrize(
    ("statuses", "final"),
    [
        (["sent", "failed"], "failed"),
        (["failed", "delivered"], "delivered"),
        (["played", "read"], "played"),
    ],
)
def test_message_status_precedence(statuses: list[str], final: str) -> None:
    events = [
        ev(
            i + 2,
            "MessageStatusChanged",
            message_id="m",
            status=s,
            error_code=None,
            error_title=None,
        )
        for i, s in enumerate(statuses)
    ]
    entry = replay([registered(), *events], DEFAULT_POLICY)[3]["m"]
    assert (entry.status, entry.direction) == (final, "outbound")  # statuses: our messages


def test_already_applied_events_change_nothing() -> None:
    view = view_of(sarah_phase(2, "listening"))
    again = apply(view, sarah_phase(2, "close_attempt"), DEFAULT_POLICY)
    assert again == Effects(view)
    assert again.view is view


def test_unknown_event_types_only_advance_the_version() -> None:
    view = view_of(ev(2, "SomethingNew", x=1))
    assert view == dataclasses.replace(view_of(), version=2, updated_at=at(2))


def test_bad_streams_are_rejected() -> None:
    with pytest.raises(ValueError, match="not Registered"):
        apply(None, sarah_phase(2, "listening"), DEFAULT_POLICY)
    other = dataclasses.replace(registered(), lead_id=UUID(int=7))
    with pytest.raises(ValueError, match="applied to lead"):
        apply(view_of(), dataclasses.replace(other, position=2), DEFAULT_POLICY)


def test_to_row_is_plain_and_detached() -> None:
    view = view_of(sarah(2, "phase2-interest"))
    row = view.to_row()
    assert set(row) == {f.name for f in dataclasses.fields(ContactView)}
    assert row["lead_id"] == str(LEAD)
    assert row["status_updated_at"] == at(2)
    row["pain_points"].append("x")
    row["extracted"]["urgency_level"] = "low"
    assert view.pain_points == ["kewalahan balas chat", "miss message malam hari"]
    assert view.extracted["urgency_level"] == "high"


# -- invariants over random streams ----------------------------------------------------------

SOURCES = st.sampled_from(["human", "brain", "sarah", "import", "kapso"])
MINUTE = st.integers(-30, 30).map(at)


@st.composite
def facts(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(
        st.sampled_from(
            [
                "in",
                "out",
                "status",
                "sarah",
                "request",
                "release",
                "note",
                "conversation",
                "name",
                "unknown",
            ]
        )
    )
    message_id = draw(st.sampled_from(["m1", "m2", "m3"]))
    common = {"occurred_at": draw(st.none() | MINUTE), "source": draw(SOURCES)}
    table: dict[str, tuple[str, dict[str, Any]]] = {
        "in": (
            "InboundMessageReceived",
            {
                "message_id": message_id,
                "message_type": "text",
                "text": "hi",
                "media": None,
                "conversation_id": "c",
            },
        ),
        "out": (
            "OutboundMessageSent",
            {
                "message_id": message_id,
                "message_type": "text",
                "text": "yo",
                "conversation_id": "c",
                "origin": draw(st.sampled_from([None, "inbox"])),
            },
        ),
        "status": (
            "MessageStatusChanged",
            {
                "message_id": message_id,
                "error_title": None,
                "error_code": None,
                "status": draw(st.sampled_from(["sent", "delivered", "read", "failed", "odd"])),
            },
        ),
        "sarah": (
            "SarahPhaseReported",
            {
                "chat_phase": draw(
                    st.sampled_from(
                        ["greeting", "listening", "handoff", "completed", "close_attempt", "??"]
                    )
                ),
                "extracted_data": draw(
                    st.dictionaries(
                        st.sampled_from(["name", "domisili", "x"]),
                        st.none() | st.sampled_from(["a", "", "b"]),
                        max_size=2,
                    )
                ),
                "lead_score": draw(st.none() | st.integers(0, 100)),
                "lead_temperature": None,
                "outcome": draw(st.none() | st.just("lost")),
            },
        ),
        "request": (
            "StatusRequested",
            {
                "reason": None,
                "status": draw(
                    st.sampled_from(
                        ["new", "qualified", "contacted", "converted", "archived", "hot"]
                    )
                ),
            },
        ),
        "release": ("StatusHoldReleased", {}),
        "note": ("NoteAdded", {"content": "n"}),
        "conversation": (
            "ConversationChanged",
            {
                "conversation_id": "c",
                "detail": None,
                "change": draw(st.sampled_from(["opened", "ended", "inactive"])),
            },
        ),
        "name": ("ContactNameReported", {"name": draw(st.sampled_from(["Budi", "Sari"]))}),
        "unknown": ("FutureEvent", {}),
    }
    type_, data = table[kind]
    return type_, {**common, **data}


streams = st.lists(facts(), max_size=15).map(
    lambda fs: [registered(), *(ev(i + 2, t, **d) for i, (t, d) in enumerate(fs))]
)


def fold_pages(events: list[LedgerEvent], cuts: list[int], policy: Policy) -> Replayed:
    """What the live projection does: pages of events, state carried between them."""
    view: ContactView | None = None
    history: list[StatusHistoryEntry] = []
    notes: list[NoteEntry] = []
    messages: dict[str, MessageEntry] = {}
    bounds = [0, *sorted(c % (len(events) + 1) for c in cuts), len(events)]
    for start, end in pairwise(bounds):
        for event in events[start:end]:
            effects = apply(view, event, policy, dict(messages))
            view = effects.view
            history += effects.history
            notes += effects.notes
            messages.update((m.message_id, m) for m in effects.messages)
    return view, history, notes, messages


@given(streams, st.lists(st.integers(0, 50), max_size=4))
def test_replay_equals_live_in_any_page_split(events: list[LedgerEvent], cuts: list[int]) -> None:
    assert fold_pages(events, cuts, DEFAULT_POLICY) == replay(events, DEFAULT_POLICY)


@given(streams)
def test_applying_an_event_twice_equals_applying_it_once(events: list[LedgerEvent]) -> None:
    twice = [e for event in events for e in (event, event)]
    assert replay(twice, DEFAULT_POLICY) == replay(events, DEFAULT_POLICY)


@settings(max_examples=examples(0.5))
@given(streams)
def test_as_of_replay_equals_the_live_view_at_that_position(events: list[LedgerEvent]) -> None:
    live: list[ContactView] = []
    view: ContactView | None = None
    messages: dict[str, MessageEntry] = {}
    for event in events:
        effects = apply(view, event, DEFAULT_POLICY, messages)
        view = effects.view
        messages.update((m.message_id, m) for m in effects.messages)
        live.append(view)
    for n in range(1, len(events) + 1):
        assert replay(events[:n], DEFAULT_POLICY)[0] == live[n - 1]
        assert live[n - 1].version == n


SARAH_FIRST = load_policy(
    'name = "sarah-first"\nforward_only = []\nhold = []\n[ranks]\nsarah = 9\nhuman = 1\nbrain = 1\n'
)
STATUS_FIELDS = (
    "lead_status",
    "status_source",
    "status_updated_at",
    "status_updated_by",
    "status_held",
)


@given(streams)
def test_a_policy_change_then_replay_equals_a_fresh_replay(events: list[LedgerEvent]) -> None:
    under_default = replay(events, DEFAULT_POLICY)
    rebuilt = replay(events, SARAH_FIRST)
    assert dict(SARAH_FIRST.ranks) != dict(DEFAULT_POLICY.ranks)
    assert rebuilt == replay(copy.deepcopy(events), SARAH_FIRST)
    assert replay(events, DEFAULT_POLICY) == under_default  # nothing leaks between policies
    # A policy decides statuses only: everything else is the same under both.
    old_view, new_view = under_default[0], rebuilt[0]
    assert old_view is not None
    assert new_view is not None
    blank: dict[str, Any] = dict.fromkeys(STATUS_FIELDS)
    assert dataclasses.replace(old_view, **blank) == dataclasses.replace(new_view, **blank)
    assert rebuilt[2:] == under_default[2:]
    assert [h.position for h in rebuilt[1]] == [h.position for h in under_default[1]]


def test_the_policy_really_changes_the_outcome() -> None:
    events = [status(2, "archived", "human"), sarah_phase(3, "listening")]
    assert view_of(*events).lead_status == "archived"
    assert view_of(*events, policy=SARAH_FIRST).lead_status == "qualified"
