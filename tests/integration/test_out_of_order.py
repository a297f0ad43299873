"""Facts arriving out of order end in the same views as in order - where the facts allow.

Every arrival order (explicit permutations) of a small story is recorded through the Ledger,
one delivery per transaction, the views caught up after each delivery as the live follower
does, on SQLite and PostgreSQL. Each order goes to its own lead, and every lead's contact
view and messages must equal those of the lead that got the story in order:

- message statuses: an outbound message and its sent / delivered / read reports, in all 24
  orders (a `read` before `delivered`, a status before its message);
- a conversation ended before its last messages arrived;
- Sarah's phases 1-3 in all 6 orders.

What cannot be order-independent, and so is compared apart or not at all:

- `created_at` is when the lead was first heard of: the time of whichever fact arrived
  first. `updated_at` is the store's clock. `lead_id`, `phone` and `search_text` (which
  holds the phone) differ by construction.
- A Sarah report sent without `occurred_at` (optional in `POST /sarah/state`) has only its
  arrival as its time (`received_at`). With nothing else to order them by, the last report
  to arrive sets `chat_phase`, `lead_score` and `lead_temperature`, and
  `status_updated_at` is the arrival of the report that won. The status itself ends the
  same (Sarah is forward-only: a late phase 2 cannot move `contacted` back), and so does
  the merged `extracted_data` (nulls never erase). Reports that carry their own time end
  the same in every order, phase, score and temperature included.
- The status history is an audit log in arrival order: each proposal's outcome is decided
  against the status at its arrival (a late phase 2 is `suppressed`), so only the set of
  proposals is compared, not their outcomes.

Where the facts carry their time, the views follow it (docs/read-models.md, "Rules"): Sarah
reports with an `occurred_at`, a conversation's `opened` arriving after its `ended`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.webhooks.traffic import phone_for
from domain.commands import (
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportSarahPhase,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from projections.state import read_state
from projections.tables import view_tables
from projections.verify import verify
from service_layer.bootstrap import Services
from tests.support import WORKSPACE, sample_json

T0 = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)  # when things happened (the sources' time)
ARRIVAL = datetime(2025, 11, 24, 3, 0, tzinfo=UTC)  # when deliveries reach us, 1 min apart
NOT_ORDER_FACTS = {"lead_id", "phone", "search_text", "created_at", "updated_at"}
# Without their own time, reports are ordered by arrival: so are the times the view keeps.
SARAH_BY_ARRIVAL = {
    "chat_phase",
    "lead_score",
    "lead_temperature",
    "status_updated_at",
    "source_times",
}
CONVERSATION = "conv-ooo"

# One delivery: a name and, given the lead's phone and the arrival time, its commands.
Step = tuple[str, Callable[[str, datetime], list[LeadCommand]]]
View = dict[str, Any]


@dataclass(frozen=True)
class Projected:
    contact: View
    messages: dict[str, View]
    proposals: list[tuple[str, str, str]]  # (to_status, source, origin), sorted


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """SQLite and PostgreSQL only, as the module says."""
    return durable_database_url


# -- the stories -------------------------------------------------------------------------


def kapso(arrival: datetime, minutes: int) -> Said:
    """Kapso's provenance: every message, status and conversation event has a timestamp."""
    return Said("kapso", "kapso", arrival, T0 + timedelta(minutes=minutes))


def outbound(phone: str, arrival: datetime) -> list[LeadCommand]:
    return [
        RecordOutboundMessage(
            phone, kapso(arrival, 0), message_id="wamid.out.1", text="Halo!", origin="cloud_api"
        )
    ]


def status(name: str, minutes: int) -> Step:
    def build(phone: str, arrival: datetime) -> list[LeadCommand]:
        said = kapso(arrival, minutes)
        return [RecordMessageStatus(phone, said, message_id="wamid.out.1", status=name)]

    return (name, build)


MESSAGE_STATUSES: list[Step] = [
    ("message", outbound),
    status("sent", 1),
    status("delivered", 2),
    status("read", 3),
]


def inbound(message_id: str, minutes: int, opens: bool = False) -> Step:
    def build(phone: str, arrival: datetime) -> list[LeadCommand]:
        said = kapso(arrival, minutes)
        commands: list[LeadCommand] = [
            RecordInboundMessage(
                phone, said, message_id=message_id, text=message_id, conversation_id=CONVERSATION
            )
        ]
        if opens:  # Kapso's is_new_conversation: the same delivery opens the conversation
            commands.append(RecordConversation(phone, said, CONVERSATION, "opened"))
        return commands

    return (message_id, build)


def reply(message_id: str, minutes: int) -> Step:
    def build(phone: str, arrival: datetime) -> list[LeadCommand]:
        said = kapso(arrival, minutes)
        return [RecordOutboundMessage(phone, said, message_id=message_id, origin="cloud_api")]

    return (message_id, build)


def ended(phone: str, arrival: datetime) -> list[LeadCommand]:
    return [RecordConversation(phone, kapso(arrival, 10), CONVERSATION, "ended")]


OPENING = inbound("wamid.in.1", 0, opens=True)
CONVERSATION_TAIL: list[Step] = [
    reply("wamid.out.2", 1),
    inbound("wamid.in.3", 2),  # the last message, sent before the end, may arrive after it
    ("ended", ended),
]


def sarah_phase(sample: str, minutes: int | None) -> Step:
    """A Sarah sample; `minutes`: its occurred_at (optional in `POST /sarah/state`)."""
    body = sample_json(sample)

    def build(phone: str, arrival: datetime) -> list[LeadCommand]:
        at = None if minutes is None else T0 + timedelta(minutes=minutes)
        return [
            ReportSarahPhase(
                phone,
                Said("sarah", "sarah-bot", arrival, at),
                chat_phase=body["state"],
                extracted_data=body["extracted_data"],
                lead_score=body["lead_score"],
                lead_temperature=body["lead_temperature"],
            )
        ]

    return (body["state"], build)


SARAH_SAMPLES = {  # by the phase each reports
    "collect_domisili": "sarah-phase1-gathering.json",
    "validate_pain_points": "sarah-phase2-interest.json",
    "close_attempt": "sarah-phase3-closing.json",
}


def sarah_phases(timed: bool) -> list[Step]:
    """Phases 1, 2, 3; `timed`: each with an occurred_at 0, 1, 2 minutes after T0."""
    return [sarah_phase(n, i if timed else None) for i, n in enumerate(SARAH_SAMPLES.values())]


# -- recording and reading ---------------------------------------------------------------


def play(services: Services, phone: str, steps: Sequence[Step]) -> Projected:
    """Deliver `steps` in this order, one transaction each, catching the views up after
    each (as the live follower does); the lead's views afterwards."""
    for number, (_, build) in enumerate(steps):
        arrival = ARRIVAL + timedelta(minutes=number)
        services.ledger.record(WORKSPACE, build(phone, arrival))
        services.views.catch_up()
    return projected(services, phone)


def projected(services: Services, phone: str) -> Projected:
    lead = str(lead_id_for(WORKSPACE, phone))
    with services.engines.read.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        contacts, messages, history = tables.contacts, tables.messages, tables.history
        contact = dict(
            conn.execute(select(contacts).where(contacts.c.lead_id == lead)).one()._mapping
        )
        rows = conn.execute(select(messages).where(messages.c.lead_id == lead))
        by_id = {row.message_id: _without(dict(row._mapping), {"lead_id"}) for row in rows}
        proposals = sorted(
            (row.to_status, row.source, row.origin)
            for row in conn.execute(select(history).where(history.c.lead_id == lead))
        )
    return Projected(_without(contact, NOT_ORDER_FACTS), by_id, proposals)


def _without(row: View, keys: set[str]) -> View:
    return {k: v for k, v in row.items() if k not in keys}


def every_order(
    services: Services, steps: Sequence[Step], first: Sequence[Step] = ()
) -> tuple[Projected, dict[tuple[str, ...], Projected]]:
    """The story in order (on lead 0) and in every other order of `steps` (each on its own
    lead), `first` always delivered first."""
    in_order = play(services, phone_for(0), [*first, *steps])
    others: dict[tuple[str, ...], Projected] = {}
    for number, order in enumerate(itertools.permutations(steps), start=1):
        names = tuple(name for name, _ in order)
        if names != tuple(name for name, _ in steps):
            others[names] = play(services, phone_for(number), [*first, *order])
    return in_order, others


def assert_rebuild_agrees(services: Services) -> None:
    """Live catch-up after each delivery equals a replay of the whole ledger."""
    assert verify(services.engines.write, services.store).differences == []
    assert services.views.status().failures == 0


# -- the tests ---------------------------------------------------------------------------


def test_message_statuses_in_any_order(services: Services) -> None:
    in_order, others = every_order(services, MESSAGE_STATUSES)
    assert len(others) == 23
    [message] = in_order.messages.values()
    assert (message["direction"], message["status"]) == ("outbound", "read")
    assert message["status_at"] == T0 + timedelta(minutes=3)
    for order, seen in others.items():
        assert seen.messages == in_order.messages, order
        assert seen.contact == in_order.contact, order
    assert_rebuild_agrees(services)


def test_conversation_ended_before_its_last_messages(services: Services) -> None:
    in_order, others = every_order(services, CONVERSATION_TAIL, first=[OPENING])
    assert in_order.contact["conversation_status"] == "closed"
    assert (in_order.contact["inbound_count"], in_order.contact["outbound_count"]) == (2, 1)
    assert in_order.contact["last_inbound_at"] == T0 + timedelta(minutes=2)
    for order, seen in others.items():
        assert seen.contact == in_order.contact, order
        assert seen.messages == in_order.messages, order
    assert_rebuild_agrees(services)


def test_sarah_phases_without_their_own_time(services: Services) -> None:
    """As `POST /sarah/state` records them: only the arrival orders them."""
    in_order, others = every_order(services, sarah_phases(timed=False))
    assert in_order.contact["lead_status"] == "contacted"
    assert in_order.contact["chat_phase"] == "close_attempt"
    for order, seen in others.items():
        # Ends the same: the status (forward-only), the merged data, everything else.
        assert _without(seen.contact, SARAH_BY_ARRIVAL) == _without(
            in_order.contact, SARAH_BY_ARRIVAL
        ), order
        assert seen.proposals == in_order.proposals, order
        # Follows the arrival: the last report to arrive gives the phase, score, temperature.
        last = sample_json(SARAH_SAMPLES[order[-1]])
        assert seen.contact["chat_phase"] == last["state"], order
        assert seen.contact["lead_score"] == last["lead_score"], order
    assert_rebuild_agrees(services)


def test_sarah_phases_with_their_own_time_keep_the_status(services: Services) -> None:
    in_order, others = every_order(services, sarah_phases(timed=True))
    keys = ("lead_status", "status_source", "status_updated_at", "extracted", "pain_points")
    for order, seen in others.items():
        got = {k: seen.contact[k] for k in keys}
        assert got == {k: in_order.contact[k] for k in keys}, order
    assert in_order.contact["status_updated_at"] == T0 + timedelta(minutes=2)


def test_sarah_phases_with_their_own_time_end_the_same(services: Services) -> None:
    in_order, others = every_order(services, sarah_phases(timed=True))
    assert in_order.contact["chat_phase"] == "close_attempt"
    for order, seen in others.items():
        assert seen.contact == in_order.contact, order
    assert_rebuild_agrees(services)


def test_conversation_opened_arriving_after_it_ended(services: Services) -> None:
    in_order = play(services, phone_for(0), [OPENING, *CONVERSATION_TAIL])
    late_opening = play(services, phone_for(1), [*CONVERSATION_TAIL, OPENING])
    assert in_order.contact["conversation_status"] == "closed"
    assert late_opening.contact == in_order.contact
