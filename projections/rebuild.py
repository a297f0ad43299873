"""Blue/green rebuild: replay the whole ledger into a fresh generation, then switch.

Readers keep the active generation until one transaction flips the state row. A killed
rebuild leaves the live view untouched; re-running with the same policy resumes from the
building generation's own tracking position, with another policy it starts clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from adapters.store import LedgerStore
from projections.source import head, read_page
from projections.state import activate, lock_state, policy_of, set_building
from projections.tables import ViewTables, view_tables
from projections.tracking import advance, position
from projections.writer import apply_page_isolating

Progress = Callable[[int, int], None]


class RebuildAbortedError(RuntimeError):
    """Another rebuild took over the building generation."""


@dataclass(frozen=True)
class RebuildResult:
    generation: int
    previous_generation: int
    position: int
    events_read: int
    seconds: float
    resumed: bool


def rebuild(
    engine: Engine,
    store: LedgerStore,
    policy_text: str,
    progress: Progress | None = None,
    page_size: int = 5000,
) -> RebuildResult:
    policy_of(policy_text)  # refuse a bad policy before touching anything
    started = time.perf_counter()
    generation, resumed = _claim_generation(engine, policy_text)
    tables = view_tables(generation)
    with engine.begin() as conn:
        tables.metadata.create_all(conn, checkfirst=True)
        first = position(conn, tables)
    fill(engine, store, tables, policy_text, progress, page_size)
    with engine.begin() as conn:
        state = lock_state(conn)
        if state.building_generation != generation:
            raise RebuildAbortedError(f"generation {generation} is no longer being built")
        # Under the projection lock no live page can land: apply the tail, then switch.
        while apply_next(conn, store, tables, policy_text, page_size):
            pass
        last = position(conn, tables)
        activate(conn, generation, policy_text)
    drop_generation(engine, state.active_generation)
    return RebuildResult(
        generation,
        state.active_generation,
        last,
        last - first,
        time.perf_counter() - started,
        resumed,
    )


def fill(
    engine: Engine,
    store: LedgerStore,
    tables: ViewTables,
    policy_text: str,
    progress: Progress | None,
    page_size: int,
) -> None:
    """Replay pages into `tables`, one transaction per page (resumable at any point)."""
    target = head(store)
    while True:
        with engine.begin() as conn:
            if not apply_next(conn, store, tables, policy_text, page_size):
                return
            done = position(conn, tables)
        if progress is not None:
            target = max(target, done)
            progress(done, target)


def drop_generation(engine: Engine, generation: int) -> None:
    with engine.begin() as conn:
        view_tables(generation).metadata.drop_all(conn, checkfirst=True)


def apply_next(
    conn: Connection, store: LedgerStore, tables: ViewTables, policy_text: str, page_size: int
) -> bool:
    start = position(conn, tables)
    events, last = read_page(store, start, page_size)
    if last == start:
        return False
    apply_page_isolating(conn, tables, events, policy_of(policy_text))
    advance(conn, tables, last)
    return True


def _claim_generation(engine: Engine, policy_text: str) -> tuple[int, bool]:
    with engine.begin() as conn:
        state = lock_state(conn)
        building = state.building_generation
        if building is not None and state.building_policy == policy_text:
            return building, True
        generation = max(state.active_generation, building or 0) + 1
        set_building(conn, generation, policy_text)
    if building is not None:
        drop_generation(engine, building)  # another policy's half-built set: start clean
    drop_generation(engine, generation)  # leftovers of an older attempt at this number
    return generation, False
