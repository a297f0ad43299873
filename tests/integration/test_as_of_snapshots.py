"""`as_of` from view snapshots equals the pure replay of the lead's events up to the moment.

A lead with 260 events (snapshots at 100 and 200) is asked as of moments drawn by
hypothesis among its events' times, and just before and after them; the answer must be
the pure fold of `domain.reducer.replay` over the events recorded up to that moment (stopping
at the first later one). Snapshots after a clock-went-back marker are never used.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from domain.commands import AddNote, LeadCommand, RecordInboundMessage, RequestStatus
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY
from domain.reducer import ContactView, LedgerEvent, replay
from projections import snapshots
from projections.as_of import lead_as_of
from projections.source import lead_history
from projections.state import read_state
from projections.tables import view_tables
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import examples, settings_for
from tests.support import WORKSPACE

PHONE = "+6281234567890"
T0 = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)


def commands(count: int) -> list[LeadCommand]:
    made: list[LeadCommand] = []
    for i in range(count):
        said = Said("human", "ana", T0 + timedelta(minutes=i), None, f"k{i}")
        if i % 3 == 0:
            made.append(RequestStatus(PHONE, said, status=("contacted", "qualified")[i % 2]))
        elif i % 3 == 1:
            kapso = Said("kapso", "kapso", T0 + timedelta(minutes=i), T0 + timedelta(minutes=i))
            made.append(RecordInboundMessage(PHONE, kapso, message_id=f"wamid.{i}"))
        else:
            made.append(AddNote(PHONE, said, content=f"note {i}"))
    return made


@pytest.fixture(scope="module")
def lead(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, UUID]]:
    tmp: Path = tmp_path_factory.mktemp("as_of")
    services = bootstrap(settings_for(f"sqlite:///{tmp / 'ledger.db'}", tmp))
    batch = commands(259)  # + Registered = 260 events
    for i in range(0, len(batch), 37):  # several pages and transactions
        services.ledger.record(WORKSPACE, batch[i : i + 37])
        services.views.catch_up()
    yield services, lead_id_for(WORKSPACE, PHONE)
    services.close()


def oracle(events: list[LedgerEvent], as_of: datetime) -> ContactView | None:
    prefix = itertools.takewhile(lambda e: e.recorded_at <= as_of, events)
    return replay(prefix, DEFAULT_POLICY)[0]


def test_snapshots_are_taken_every_100_events(lead: tuple[Services, UUID]) -> None:
    services, lead_id = lead
    with services.engines.read.connect() as conn:
        table = view_tables(read_state(conn).active_generation).snapshots
        rows = conn.execute(select(table.c.position, table.c.view)).all()
    assert [position for position, _ in rows] == [100, 200]
    assert all(view["version"] == position for position, view in rows)
    assert all(view["lead_id"] == str(lead_id) for _, view in rows)


@settings(max_examples=examples(0.4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 259), shift=st.sampled_from([-1, 0, 1]))
def test_as_of_equals_the_replay_of_the_prefix(
    lead: tuple[Services, UUID], index: int, shift: int
) -> None:
    services, lead_id = lead
    events = list(lead_history(services.store, lead_id))
    assert len(events) == 260
    as_of = events[index].recorded_at + timedelta(microseconds=shift)
    found = lead_as_of(services.engines.read, services.store, WORKSPACE, lead_id, as_of)
    assert found == oracle(events, as_of)


def test_snapshots_after_a_clock_step_back_are_not_used(lead: tuple[Services, UUID]) -> None:
    services, lead_id = lead
    events = list(lead_history(services.store, lead_id))
    with services.engines.read.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        assert snapshots.latest(conn, tables, lead_id, events[-1].recorded_at) is not None
    with services.engines.write.begin() as conn:
        conn.execute(  # the store's clock went back at position 150: 200 is unusable
            insert(tables.snapshots).values(
                lead_id=str(lead_id), position=150, recorded_at=events[149].recorded_at
            )
        )
    with services.engines.read.connect() as conn:
        used = snapshots.latest(conn, tables, lead_id, events[-1].recorded_at)
    assert used is not None
    assert used.version == 100
    last = events[-1].recorded_at
    found = lead_as_of(services.engines.read, services.store, WORKSPACE, lead_id, last)
    assert found == oracle(events, last)


def test_a_marker_is_taken_where_the_clock_went_back() -> None:
    lead_id = lead_id_for(WORKSPACE, PHONE)
    view = ContactView(
        lead_id=lead_id, workspace=WORKSPACE, phone=PHONE, created_at=T0, updated_at=T0, version=7
    )

    def event(position: int, at: datetime) -> LedgerEvent:
        return LedgerEvent(lead_id, position, position, "NoteAdded", at, {})

    back = snapshots.taken("x", view, event(8, T0 - timedelta(seconds=1)), view)
    assert back == ("x", 8, T0 - timedelta(seconds=1), None)
    assert snapshots.taken("x", view, event(8, T0), view) is None
    later = T0 + timedelta(seconds=1)
    assert snapshots.taken("x", view, event(100, later), view) == ("x", 100, later, view)
    assert snapshots.taken("x", view, event(7, later), view) is None  # already applied
    assert snapshots.taken("x", None, event(100, later), view) is None


def test_an_early_as_of_decodes_about_one_snapshot_interval_not_the_rest(
    lead: tuple[Services, UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, lead_id = lead
    events = list(lead_history(services.store, lead_id))
    decoded = 0
    original = services.store.mapper.to_domain_event

    def counting(stored: object) -> object:
        nonlocal decoded
        decoded += 1
        return original(stored)  # type: ignore[arg-type]

    monkeypatch.setattr(services.store.mapper, "to_domain_event", counting)
    as_of = events[110].recorded_at  # past the snapshot at 100, 150 events before the end
    found = lead_as_of(services.engines.read, services.store, WORKSPACE, lead_id, as_of)
    assert found == oracle(events, as_of)
    # The ten events after the snapshot, and the first later one that ends the replay.
    assert decoded <= snapshots.SNAPSHOT_EVERY + 1


@pytest.mark.parametrize("page_size", [1, 7, 259, 260, 1000])
def test_a_paged_history_is_every_event_once_in_order(
    lead: tuple[Services, UUID], page_size: int
) -> None:
    services, lead_id = lead
    events = list(lead_history(services.store, lead_id, page_size=page_size))
    assert [e.position for e in events] == list(range(1, 261))
