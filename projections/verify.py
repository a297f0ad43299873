"""Verify: rebuild into a shadow generation and report every row that differs from live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from adapters.eventstore.store import LedgerStore
from projections.partitioned import catch_up_all
from projections.rebuild import Progress, drop_generation, fill
from projections.state import lock_state, read_state
from projections.tables import LAYOUT, ViewTables, view_tables
from projections.tracking import settled

SHADOW_OFFSET = 100_000  # shadow generations never collide with rebuild generations


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    column: str
    live: Any
    rebuilt: Any


@dataclass(frozen=True)
class VerifyResult:
    position: int
    rows_compared: int
    differences: list[Difference]


def verify(
    engine: Engine,
    store: LedgerStore,
    progress: Progress | None = None,
    page_size: int = 5000,
    max_report: int = 100,
) -> VerifyResult:
    with engine.connect() as conn:
        state = read_state(conn)
    shadow = view_tables(state.active_generation + SHADOW_OFFSET)
    drop_generation(engine, shadow.generation)
    with engine.begin() as conn:
        shadow.metadata.create_all(conn)
    try:
        fill(engine, store, shadow, state.active_policy, progress, page_size)
        with engine.begin() as conn:
            # Hold the projection lock: live and shadow reach the same position, then compare.
            locked = lock_state(conn)
            live = view_tables(locked.active_generation)
            policy = locked.active_policy
            reached = catch_up_all(conn, store, live, policy, page_size)
            further = catch_up_all(conn, store, shadow, policy, page_size, reached)
            if further > reached:  # the shadow's fill had read past the live views
                catch_up_all(conn, store, live, policy, page_size, further)
            return _compare(conn, live, shadow, max_report)
    finally:
        drop_generation(engine, shadow.generation)


def _compare(
    conn: Connection, live: ViewTables, shadow: ViewTables, max_report: int
) -> VerifyResult:
    """Match rows by primary key (a missing or extra row is named as such), then columns."""
    differences: list[Difference] = []
    compared = 0
    pairs = [
        (live.contacts, shadow.contacts),
        (live.history, shadow.history),
        (live.notes, shadow.notes),
        (live.messages, shadow.messages),
        (live.changes, shadow.changes),
    ]
    for a, b in pairs:
        name = a.name.rsplit("_g", 1)[0].removesuffix(f"_l{LAYOUT}")  # e.g. ll_notes
        rebuilt = {_key(b, row): row for row in _rows(conn, b)}
        for row in _rows(conn, a):
            compared += 1
            key = _key(a, row)
            other = rebuilt.pop(key, None)
            if other is None:
                differences.append(Difference(name, key, "*", row, None))
            else:
                differences += [
                    Difference(name, key, col, row[col], other[col])
                    for col in row
                    if row[col] != other[col]
                ]
        compared += len(rebuilt)
        differences += [Difference(name, key, "*", None, row) for key, row in rebuilt.items()]
    return VerifyResult(settled(conn, live), compared, differences[:max_report])


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    for row in conn.execute(select(table)):
        yield dict(row._mapping)


def _key(table: Table, row: dict[str, Any]) -> str:
    return "/".join(str(row[c.name]) for c in table.primary_key.columns)
