"""Live views split into partitions by lead-id hash, each moved by whichever process holds
its tracking row (projections/tracking.py): pages of different partitions commit at once.

Each partition's page is exactly once (its view rows and its tracking row move in one
transaction); a partition's leads see their events in ledger order. Readers of the change
feed are bounded by the lowest partition's position (`tracking.settled`), so they never
see an item before every earlier position is applied.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select

from adapters.eventstore.store import LedgerStore
from projections.source import head, read_page
from projections.state import ProjectionState, lock_state, policy_of, read_state
from projections.tables import PROJECTION, ViewTables, projection_state, view_tables
from projections.tracking import Partition, advance, claim, replace_rows, rows
from projections.writer import apply_page_isolating


def page_of_partition(
    engine: Engine, store: LedgerStore, partition: Partition, page_size: int
) -> int:
    """Apply the partition's next page; returns the ledger positions it moved (0 when
    there was nothing to do or another process holds the partition)."""
    with engine.begin() as conn:
        state = share_state(conn)
        tables = view_tables(state.active_generation)
        start = claim(conn, tables, partition)
        if start is None:
            held = conn.execute(
                select(tables.tracking.c.id).where(tables.tracking.c.id == partition.row_id)
            ).first()
            if held is not None:
                return 0  # another process is applying it
        else:
            events, last = read_page(store, start, page_size, partition)
            if last != start:
                apply_page_isolating(conn, tables, events, policy_of(state.active_policy))
                advance(conn, tables, last, partition)
            return last - start
    # The table holds another partitioning (a changed setting, a rebuild's single row).
    with engine.begin() as conn:
        state = lock_state(conn)
        return repartition(
            conn,
            store,
            view_tables(state.active_generation),
            state.active_policy,
            partition.count,
            page_size,
        )


def share_state(conn: Connection) -> ProjectionState:
    """The state read under a shared lock: partitions' pages run side by side, a rebuild's
    switch (`lock_state`, exclusive) waits for them and they for it. On SQLite every
    writer holds the database lock anyway."""
    if conn.dialect.name != "sqlite":
        conn.execute(
            select(projection_state.c.name)
            .where(projection_state.c.name == PROJECTION)
            .with_for_update(read=True)
        )
    return read_state(conn)


def catch_up_all(
    conn: Connection,
    store: LedgerStore,
    tables: ViewTables,
    policy_text: str,
    page_size: int,
    target: int | None = None,
) -> int:
    """Every tracking row of `tables` up to `target` (default: the ledger head), in the
    caller's transaction (which holds the exclusive projection lock); returns the
    position reached."""
    found = rows(conn, tables) or {Partition(): 0}
    target = max(head(store) if target is None else target, *found.values())
    policy = policy_of(policy_text)
    for partition, at in found.items():
        while at < target:
            events, last = read_page(store, at, page_size, partition, until=target)
            apply_page_isolating(conn, tables, events, policy)
            advance(conn, tables, last, partition)
            at = last
    return target


def repartition(
    conn: Connection,
    store: LedgerStore,
    tables: ViewTables,
    policy_text: str,
    count: int,
    page_size: int,
) -> int:
    """Switch `tables` to `count` partitions: bring the rows there are to one position
    (the furthest of them: usually they already agree), then start the new rows there.
    Needs the exclusive projection lock."""
    found = rows(conn, tables)
    if set(found) == {Partition(k, count) for k in range(count)}:
        return 0
    top = max(found.values(), default=0)
    before = min(found.values(), default=0)
    if found:
        catch_up_all(conn, store, tables, policy_text, page_size, top)
    replace_rows(conn, tables, count, top)
    return max(1, top - before)
