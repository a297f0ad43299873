"""Live views split into partitions by lead-id hash (projections/partitioned.py), on SQLite
and PostgreSQL.

- Several LiveViews (as several processes would) with 2 or 3 partitions, catching up in
  turns of one page, leave views identical to a fresh replay (`verify`), and their
  settled position is the head.
- Changing the number of partitions (1 -> 3 -> 2 -> 1) keeps every event applied exactly
  once: verify still finds no difference.
- The change feed never shows an item past the lowest partition's position, even when
  another partition is far ahead.
- On PostgreSQL a partition held by one transaction is skipped by another (no waiting).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

import pytest
from sqlalchemy import select

from projections.catchup import LiveViews
from projections.feed_rows import Cursor, everything_after
from projections.partitioned import page_of_partition
from projections.source import head, read_page
from projections.state import read_state
from projections.tables import view_tables
from projections.tracking import Partition, claim, lock_all, partition_of, rows, settled
from projections.verify import verify
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.integration.test_rebuild import busy_ledger, record


@pytest.fixture
def durable(durable_database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = bootstrap(settings_for(durable_database_url, tmp_path))
    yield built
    built.close()


def views(services: Services, partitions: int, page_size: int = 50) -> LiveViews:
    policy = services.service.active_policy_text()
    return LiveViews(services.engines, services.store, policy, page_size, partitions)


def test_partitions_share_the_work_and_match_a_replay(durable: Services) -> None:
    record(durable, busy_ledger(leads=60, commands=900, seed=21))
    workers = [views(durable, 3), views(durable, 3)]
    turns = 0
    while any(w.catch_up(max_pages=1) for w in workers):
        turns += 1
    assert turns > 1  # the backlog took several pages: partitions moved separately
    with durable.engines.write.begin() as conn:
        tables = view_tables(read_state(conn).active_generation)
        found = rows(conn, tables)
        assert set(found) == {Partition(k, 3) for k in range(3)}
        assert settled(conn, tables) == head(durable.store)
        assert lock_all(conn, tables) == found
    result = verify(durable.engines.write, durable.store)
    assert result.differences == []
    assert result.position == head(durable.store)


def test_changing_the_partition_count_applies_each_event_once(durable: Services) -> None:
    batches = busy_ledger(leads=40, commands=800, seed=22)
    for count, part in zip([1, 3, 2, 1], range(4), strict=True):
        record(durable, batches[part * 2 : part * 2 + 2])
        views(durable, count).catch_up(max_pages=2)  # leave some behind, too
    record(durable, batches[8:])
    views(durable, 2).catch_up()
    assert verify(durable.engines.write, durable.store).differences == []


def test_the_feed_stops_at_the_lowest_partition(durable: Services) -> None:
    record(durable, busy_ledger(leads=30, commands=400, seed=23))
    engine, store = durable.engines.write, durable.store
    views(durable, 2).catch_up(max_pages=2)  # both partitions a little way in
    page_of_partition(engine, store, Partition(0, 2), 10_000)  # partition 0 to the head
    with engine.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        low = settled(conn, tables)
        assert low < head(store)
        shown = everything_after(conn, tables, Cursor(), 100_000)
        stored = conn.execute(select(tables.changes.c.position)).scalars().all()
    assert max(stored) > low  # partition 0's later items are there...
    assert shown
    assert all(item.position <= low for item in shown)  # ...but not shown yet
    views(durable, 2).catch_up()
    with engine.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        shown = everything_after(conn, tables, Cursor(), 100_000)
    assert max(item.position for item in shown) == max(stored)


def test_a_held_partition_is_skipped(durable: Services) -> None:
    services = durable
    if services.database.kind != "postgres":
        pytest.skip("SQLite's writers hold the whole database: nothing to skip")
    record(services, busy_ledger(leads=20, commands=200, seed=24))
    engine, store = services.engines.write, services.store
    views(services, 2).catch_up(max_pages=1)
    with engine.begin() as holder:
        tables = view_tables(read_state(holder).active_generation)
        assert claim(holder, tables, Partition(0, 2)) is not None
        with engine.begin() as other:
            assert claim(other, tables, Partition(0, 2)) is None  # skipped, not waited for
            assert claim(other, tables, Partition(1, 2)) is not None
        assert page_of_partition(engine, store, Partition(0, 2), 100) == 0


def test_partition_of_is_stable_and_spread() -> None:
    ids = [uuid5(NAMESPACE_URL, str(i)) for i in range(400)]
    counts = [sum(partition_of(i, 2) == k for i in ids) for k in range(2)]
    assert all(c > 120 for c in counts)
    assert [partition_of(str(i), 4) for i in ids] == [partition_of(i, 4) for i in ids]


def test_a_partition_page_holds_its_own_leads_and_ends_where_a_whole_page_ends(
    durable: Services,
) -> None:
    """PostgreSQL filters in SQL, SQLite in Python: the same events either way."""
    record(durable, busy_ledger(leads=25, commands=300, seed=25))
    store = durable.store
    whole, whole_last = read_page(store, 40, 120)
    pages = [read_page(store, 40, 120, Partition(k, 3)) for k in range(3)]
    assert {last for _, last in pages} == {whole_last}
    for k, (events, _) in enumerate(pages):
        assert [e.notification_id for e in events] == [
            e.notification_id for e in whole if partition_of(e.lead_id, 3) == k
        ]
    capped = read_page(store, 40, 120, Partition(1, 3), until=90)
    assert capped[1] == 90
    assert all((e.notification_id or 0) <= 90 for e in capped[0])
