"""Nothing a source says late rewrites newer truth (issue 13): every value the read side
merges from several sources - the contact name, score, temperature, Sarah's phase and
extracted fields, the conversation state - is decided by the sources' own time, whatever
the arrival order. Recorded through the Ledger, projected live, on every backend.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from adapters.webhooks.traffic import phone_for
from domain.commands import (
    ImportContact,
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordOutboundMessage,
    ReportContactName,
    ReportSarahPhase,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.legacy import LegacyContactRow
from domain.reducer import ContactView, LedgerEvent, replay
from projections.queries import get_view, read_views
from projections.source import lead_history
from projections.state import policy_of, read_state
from projections.tables import ViewTables
from service_layer.bootstrap import Services
from tests.conftest import examples
from tests.support import WORKSPACE

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ARRIVAL = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # every delivery arrives after it was said
MERGED = (
    "name",
    "lead_score",
    "lead_temperature",
    "chat_phase",
    "extracted",
    "sarah_name",
    "domisili",
    "business_type",
    "pain_points",
    "conversation_status",
    "source_times",
)
PHONES = itertools.count(7_000)


def said(source: str, at: datetime, key: str | None = None) -> Said:
    return Said(source, source, ARRIVAL, at, key)


def live_view(services: Services, phone: str) -> ContactView:
    services.views.catch_up()

    def read(conn: Connection, t: ViewTables) -> ContactView | None:
        return get_view(conn, t, WORKSPACE, lead_id_for(WORKSPACE, phone))

    view = read_views(services.engines.read, read)
    assert view is not None
    return view


def merged(view: ContactView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in MERGED}


# -- the reproduction: a 2024 export row after live 2026 values --------------------------


def test_an_older_import_row_does_not_overwrite_live_values(services: Services) -> None:
    phone = phone_for(6_000)
    live = T0  # 2026
    services.ledger.record(
        WORKSPACE,
        [
            RecordInboundMessage(phone, said("kapso", live), message_id="wamid.live.1"),
            ReportContactName(phone, said("kapso", live), name="Live Name"),
            ReportSarahPhase(
                phone,
                said("sarah", live, "sarah-1"),
                chat_phase="listening",
                extracted_data={"name": "Budi"},
                lead_score=80,
                lead_temperature="hot",
            ),
        ],
    )
    exported = datetime(2024, 5, 1, tzinfo=UTC)
    row = LegacyContactRow(
        "legacy-1", name="Legacy Name", legacy_status="cold", lead_score=10, updated_at=exported
    )
    services.ledger.record(WORKSPACE, [ImportContact(phone, said("import", exported), row=row)])

    view = live_view(services, phone)
    assert (view.name, view.lead_score, view.lead_temperature) == ("Live Name", 80, "hot")
    assert view.sarah_name == "Budi"


def test_a_newer_import_row_replaces_older_live_values(services: Services) -> None:
    phone = phone_for(6_001)
    services.ledger.record(
        WORKSPACE,
        [
            RecordInboundMessage(phone, said("kapso", T0), message_id="wamid.live.2"),
            ReportContactName(phone, said("kapso", T0), name="Live Name"),
        ],
    )
    later = T0 + timedelta(days=30)
    row = LegacyContactRow("legacy-2", name="Renamed", legacy_status="warm", updated_at=later)
    services.ledger.record(WORKSPACE, [ImportContact(phone, said("import", later), row=row)])

    view = live_view(services, phone)
    assert (view.name, view.lead_temperature) == ("Renamed", "warm")


# -- the invariant: any interleaving ends where the time order does ----------------------

minutes = st.integers(0, 12)  # a small range: equal times are common
names = st.sampled_from(["Budi", "Budi S.", "Sari"])


@st.composite
def statements(draw: st.DrawFn) -> list[tuple[str, int, Any]]:
    kinds = st.sampled_from(["name", "sarah", "import", "conversation", "human_reply"])
    drawn = draw(st.lists(st.tuples(kinds, minutes, st.integers(0, 2**16)), max_size=10))
    return [(kind, at, draw(_details(kind))) for kind, at, _ in drawn]


def _details(kind: str) -> st.SearchStrategy[Any]:
    if kind == "name":
        return names
    if kind == "sarah":
        return st.tuples(
            st.sampled_from(["collect_name", "listening", "handoff", "close_attempt"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "name": st.sampled_from([None, "", "Budi", "Sari"]),
                    "domisili": st.sampled_from([None, "Bandung", "Jakarta"]),
                    "budget": st.sampled_from([None, 5, "2 juta"]),
                },
            ),
            st.none() | st.integers(0, 100),
            st.sampled_from([None, "hot", "cold"]),
        )
    if kind == "import":
        return st.tuples(
            st.sampled_from(["legacy-a", "legacy-b"]),
            st.none() | names,
            st.sampled_from(["hot", "warm", "cold", "client"]),
            st.none() | st.integers(0, 100),
        )
    if kind == "conversation":
        return st.sampled_from(["opened", "ended", "inactive"])
    return st.just(None)


def command(phone: str, number: int, kind: str, minute: int, detail: Any) -> LeadCommand:
    at = T0 + timedelta(minutes=minute)
    if kind == "name":
        return ReportContactName(phone, said("kapso", at), name=detail)
    if kind == "sarah":
        phase, data, score, temperature = detail
        key = f"sarah-{number}"
        return ReportSarahPhase(phone, said("sarah", at, key), phase, data, score, temperature)
    if kind == "import":
        legacy_id, name, status, score = detail
        row = LegacyContactRow(legacy_id, name=name, legacy_status=status, lead_score=score)
        return ImportContact(phone, said("import", at), row=row)
    if kind == "conversation":
        detail_of = {"since_message_id": f"wamid.c{number}"}
        return RecordConversation(phone, said("kapso", at), "conv-st", detail, detail_of)
    return RecordOutboundMessage(phone, said("human", at), message_id=f"wamid.h{number}")


def in_time_order(events: list[LedgerEvent]) -> list[LedgerEvent]:
    """The same events as if they had arrived in the sources' time order (ties keep their
    arrival order), renumbered so that each is applied after the one before."""
    first, rest = events[0], sorted(events[1:], key=lambda e: e.at)
    ordered: list[LedgerEvent] = []
    for position, event in enumerate([first, *rest], start=1):
        made = object.__new__(LedgerEvent)
        made.__dict__.update({**event.__dict__, "position": position})
        ordered.append(made)
    return ordered


def test_any_interleaving_ends_as_the_time_order(services: Services, backend: str) -> None:
    budget = examples(0.1 if backend == "postgres" else 0.5)

    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(story=statements())
    def check(story: list[tuple[str, int, Any]]) -> None:
        phone = phone_for(next(PHONES))
        opening = RecordInboundMessage(phone, said("kapso", T0), message_id=f"wamid.o{phone}")
        services.ledger.record(WORKSPACE, [opening])
        for number, (kind, minute, detail) in enumerate(story):
            services.ledger.record(WORKSPACE, [command(phone, number, kind, minute, detail)])
        live = live_view(services, phone)

        events = list(lead_history(services.store, lead_id_for(WORKSPACE, phone)))
        policy = read_views(
            services.engines.read, lambda c, _t: policy_of(read_state(c).active_policy)
        )
        expected, _, _, _ = replay(in_time_order(events), policy)
        assert expected is not None
        assert merged(live) == merged(expected)

    check()
