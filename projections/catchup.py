"""Keep the live views up to the ledger: exactly once, from any number of processes.

Each page runs in one view transaction that (1) takes the projection lock, (2) reads the
tracking position, (3) applies the next page of ledger events, (4) moves the position.
A crash rolls back all of it; a restart resumes from the committed position.

With `partitions` > 1 the leads are split by lead-id hash, each partition with its own
tracking row: a page takes the projection lock shared (a rebuild's switch still excludes
it) and its partition's row exclusively, skipping a partition another process holds, so
processes share the work instead of queueing on one lock (projections/tracking.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from adapters.eventstore.store import LedgerStore
from projections.database import Engines
from projections.partitioned import page_of_partition, repartition
from projections.source import head, read_page
from projections.state import ensure_state, lock_state, policy_of, read_state
from projections.tables import view_tables
from projections.tracking import WHOLE, advance, partitions, rows, settled
from projections.writer import apply_page_isolating

log = logging.getLogger("leadledger.projections")


@dataclass(frozen=True)
class Status:
    generation: int
    position: int
    head: int
    failures: int
    building_generation: int | None
    building_position: int | None
    policy: str

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class LiveViews:
    def __init__(
        self,
        engines: Engines,
        store: LedgerStore,
        initial_policy_text: str,
        page_size: int = 1000,
        partitions: int = 1,
    ) -> None:
        self.engines = engines
        self.store = store
        self.page_size = page_size
        self.partitions = partitions
        # Processes start at different partitions, so they rarely reach for the same one.
        self._first = os.getpid() % partitions
        # Called after a catch-up moved the views (the change feed wakes its readers).
        self.listeners: list[Callable[[], None]] = []
        # The last position a catch-up may take, or None for no limit: positions past it
        # are the inline pass's, in flight (projections/inline.py); taking them here would
        # read back and decode what that pass is about to write anyway.
        self.ceiling: Callable[[], int | None] = lambda: None
        ensure_state(engines.write, initial_policy_text)

    def catch_up(self, max_pages: int | None = None) -> int:
        """Apply every event not yet applied; returns how many ledger positions moved."""
        moved, pages = 0, 0
        while max_pages is None or pages < max_pages:
            step = self._page(self.page_size) if self.partitions == 1 else self._pages()
            if step == 0:
                break
            moved += step
            pages += 1
        if moved:
            self.moved()
        return moved

    def moved(self) -> None:
        """Tell the listeners the views moved (after a catch-up or an inline pass)."""
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a listener must never stop the views
                log.exception("a views listener failed")

    def _page(self, size: int) -> int:
        with self.engines.write.begin() as conn:
            state = lock_state(conn)
            tables = view_tables(state.active_generation)
            found = rows(conn, tables)
            if found and set(found) != {WHOLE}:  # left partitioned: one row again
                return repartition(conn, self.store, tables, state.active_policy, 1, size)
            start = found.get(WHOLE, 0)
            ceiling = self.ceiling()
            if ceiling is not None and ceiling <= start:
                return 0
            events, last = read_page(self.store, start, size)
            if ceiling is not None and last > ceiling:
                events = [e for e in events if (e.notification_id or 0) <= ceiling]
                last = ceiling
            if last != start:
                apply_page_isolating(conn, tables, events, policy_of(state.active_policy))
                advance(conn, tables, last)
            return last - start

    def _pages(self) -> int:
        """One page of each partition this process can take (others' are skipped)."""
        count = self.partitions
        moved = 0
        for k in range(count):
            partition = partitions(count)[(self._first + k) % count]
            moved += page_of_partition(self.engines.write, self.store, partition, self.page_size)
        return moved

    def wait_for(self, notification_id: int, timeout: float = 5.0) -> bool:
        """Read-your-writes: make sure the views include `notification_id`."""
        deadline = time.monotonic() + timeout
        while self.position() < notification_id:
            if self.catch_up() == 0:
                time.sleep(0.002)  # another process holds a partition: it is applying it
            if time.monotonic() > deadline:
                return False
        return True

    def position(self) -> int:
        """Where every lead's view is applied up to (the lowest partition's position)."""
        with self.engines.read.connect() as conn:
            return settled(conn, view_tables(read_state(conn).active_generation))

    def status(self) -> Status:
        with self.engines.read.connect() as conn:
            state = read_state(conn)
            tables = view_tables(state.active_generation)
            failures = conn.execute(select(func.count()).select_from(tables.failures)).scalar()
            building = None
            if state.building_generation is not None:
                try:
                    building = settled(conn, view_tables(state.building_generation))
                except Exception:  # a half-created building set reads as 0
                    building = 0
            return Status(
                state.active_generation,
                settled(conn, tables),
                head(self.store),
                int(failures or 0),
                state.building_generation,
                building,
                policy_of(state.active_policy).name,
            )
