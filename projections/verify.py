"""Verify: rebuild into a shadow generation and report every row that differs from live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from adapters.store import LedgerStore
from projections.rebuild import Progress, apply_next, drop_generation, fill
from projections.state import lock_state, read_state
from projections.tables import ViewTables, view_tables
from projections.tracking import position

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
            while apply_next(conn, store, live, locked.active_policy, page_size):
                pass
            while apply_next(conn, store, shadow, locked.active_policy, page_size):
                pass
            return _compare(conn, live, shadow, max_report)
    finally:
        drop_generation(engine, shadow.generation)


def _compare(
    conn: Connection, live: ViewTables, shadow: ViewTables, max_report: int
) -> VerifyResult:
    differences: list[Difference] = []
    compared = 0
    pairs = [
        (live.contacts, shadow.contacts),
        (live.history, shadow.history),
        (live.notes, shadow.notes),
        (live.messages, shadow.messages),
    ]
    for a, b in pairs:
        for left, right in zip_longest(_rows(conn, a), _rows(conn, b)):
            compared += 1
            if left == right:
                continue
            name = a.name.rsplit("_g", 1)[0]
            if left is None or right is None or _key(a, left) != _key(b, right):
                row = left or right
                assert row is not None
                differences.append(Difference(name, _key(a, row), "*", left, right))
            else:
                differences += [
                    Difference(name, _key(a, left), col, left[col], right[col])
                    for col in left
                    if left[col] != right[col]
                ]
            if len(differences) >= max_report:
                return VerifyResult(position(conn, live), compared, differences[:max_report])
    return VerifyResult(position(conn, live), compared, differences)


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    keys = [c for c in table.primary_key.columns]
    for row in conn.execute(select(table).order_by(*keys)):
        yield dict(row._mapping)


def _key(table: Table, row: dict[str, Any]) -> str:
    return "/".join(str(row[c.name]) for c in table.primary_key.columns)
