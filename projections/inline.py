"""Views in the same pass as the append (Marten's "inline" projections).

The ledger's writer has just committed a transaction and still holds its events, decoded
and with their ledger positions. Folding them into the views from there, before the callers
are answered, saves the follower reading every event back, decrypting and decoding it
again, and makes each answer read-your-writes by construction.

It is the follower's page step (projections/catchup.py) on events it did not have to read:
one view transaction that takes the projection lock, checks the tracking position, applies
the events with the same savepoint-per-lead isolation (projections/writer.py) and moves the
position. It only applies when nothing lies between the views' position and the first
event; otherwise (another process's writes, a backlog, a rebuild's swap) it leaves
everything to the follower, which stays for exactly that. A failure here never fails the
committed append: it is logged and the follower does the work.

Pipelined: the writer hands each committed append to a views thread and goes on with the
next append while the views take this one (its commit waits on the disk; this one's rows
are CPU). Appends that queued up meanwhile go into one view transaction. A caller waits
(`settled`) until the views took its append, so it is still answered with the views
current. After `close()`, appends are applied in the appending thread, before it returns.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Recording

from adapters.eventstore.store import LedgerStore
from adapters.eventstore.topics import is_lead_event
from domain.reducer import LedgerEvent
from projections.catchup import LiveViews
from projections.source import to_ledger_event
from projections.state import lock_state, policy_of
from projections.tables import view_tables
from projections.tracking import WHOLE, advance, lock_all
from projections.writer import apply_page_isolating

log = logging.getLogger("leadledger.projections")

MAX_EVENTS = 5000  # per view transaction, when appends queued up for the views thread
_STOP = object()


@dataclass(frozen=True)
class _Append:
    """One committed append: ledger positions first..last, its lead events in order, and
    the event its callers wait on (one each: no waking every waiter on every commit)."""

    first: int
    last: int
    events: list[LedgerEvent]
    dealt_with: threading.Event = field(default_factory=threading.Event)


class InlineViews:
    """`committed` is the store's hook (LedgerStore.committed), called after each append;
    `settled` is the ledger's listener, called before a caller is answered."""

    def __init__(self, views: LiveViews, wait_seconds: float = 10.0) -> None:
        self.views = views
        self.wait_seconds = wait_seconds
        self.applied = 0  # view transactions applied in the pass (observable)
        self.skipped = 0  # appends left to the follower
        self._covered = 0  # the highest ledger position the views took in this pass
        self._in_flight: deque[_Append] = deque()  # handed to the views thread, in order
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Append | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._behind = False  # the last append was left to the follower

    @property
    def store(self) -> LedgerStore:
        return self.views.store

    def in_flight_after(self) -> int | None:
        """While appends wait for the views thread: the position just before the oldest
        (the follower takes up to there and leaves them to this pass); else None."""
        with self._lock:
            return self._in_flight[0].first - 1 if self._in_flight else None

    def covers(self, notification_id: int) -> bool:
        """The views already include `notification_id` because this pass applied it."""
        return notification_id <= self._covered

    def committed(self, recordings: Sequence[Recording[Any]]) -> None:
        if not recordings:
            return
        ordered = sorted(recordings, key=lambda r: r.notification.id)
        first = ordered[0].notification.id
        if self.store.appending_bulk() or (self._behind and self._lagging(first)):
            # A chunk of a large request: its views would hold up the small requests
            # answered behind it; the follower takes it, and what follows till it caught up
            # (those callers are answered at once, as without this pass).
            self._behind = True
            self.skipped += 1
            return
        self._behind = False
        events = [
            to_ledger_event(r.domain_event, r.notification.id)
            for r in ordered
            if is_lead_event(r.notification.topic)
        ]
        append = _Append(first, ordered[-1].notification.id, events)
        if self._shredded(events):
            # Sealed redacted (the key is gone): what the follower reads back is not what
            # this process holds in memory. The follower projects what the ledger keeps.
            self.skipped += 1
            return
        with self._lock:
            if not self._closed:
                self._start()
                self._in_flight.append(append)
                self._queue.put(append)
                return
        self._take([append])  # closed: in the appending thread, before its caller returns

    def settled(self, last: int | None) -> None:
        """Wait until the views thread dealt with the append ending at `last` (taken, or
        left to the follower). Returns at once for writes it was never handed."""
        if last is None:
            return
        with self._lock:
            mine = next((a for a in self._in_flight if a.first <= last <= a.last), None)
        if mine is not None and not mine.dealt_with.wait(self.wait_seconds):
            log.warning("the inline views are behind position %s; answering anyway", last)

    def close(self, timeout: float = 10.0) -> None:
        """Take what is queued, stop the views thread; later appends apply in place."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="views-inline", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch: list[_Append] = [item] if isinstance(item, _Append) else []
            stop = False
            size = sum(len(a.events) for a in batch)
            while size < MAX_EVENTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, _Append):
                    batch.append(item)
                    size += len(item.events)
            self._take(batch)
            if stop:
                return

    def _take(self, batch: list[_Append]) -> None:
        """Apply runs of consecutive appends, one view transaction a run."""
        for run in _runs(batch):
            first, last = run[0].first, run[-1].last
            try:
                took = self._apply([e for a in run for e in a.events], first, last)
            except Exception:  # the append is committed: never fail it for the views
                log.exception("inline views failed on %s..%s (left to the follower)", first, last)
                took = False
            with self._lock:
                if took:
                    self.applied += 1
                    self._covered = max(self._covered, last)
                else:
                    self.skipped += 1
                    self._behind = True
                while self._in_flight and self._in_flight[0].first <= last:
                    self._in_flight.popleft()
            for append in run:
                append.dealt_with.set()
            if took:
                self.views.moved()

    def _apply(self, events: list[LedgerEvent], first: int, last: int) -> bool:
        if self._behind and self._lagging(first):
            return False  # behind (the follower is on it): told without waiting for its lock
        with self.views.engines.write.begin() as conn:
            state = lock_state(conn)
            tables = view_tables(state.active_generation)
            rows = lock_all(conn, tables)  # every partition's row (one when unpartitioned)
            at = set(rows.values()) or {0}
            if len(at) != 1:
                return False  # partitions apart: catch-up brings them together
            [seen] = at
            if seen >= first or not self._nothing_between(seen, first):
                return False  # applied already (the follower was quicker), or a gap
            if events:
                apply_page_isolating(conn, tables, events, policy_of(state.active_policy))
            for partition in rows or [WHOLE]:
                advance(conn, tables, last, partition)
            return True

    def _lagging(self, first: int) -> bool:
        seen = self.views.position()
        return seen < first - 1 and not self._nothing_between(seen, first)

    def _nothing_between(self, at: int, first: int) -> bool:
        """No committed event after `at` and before `first` (PostgreSQL's sequence skips
        the ids of rolled-back appends). Ledger appends commit in position order (SQLite's
        write lock; the events table lock on PostgreSQL), so none can land there later."""
        if at == first - 1:
            return True
        found = self.store.recorder.select_notifications(start=at + 1, limit=1, stop=first - 1)
        return not found

    def _shredded(self, events: list[LedgerEvent]) -> bool:
        keys = self.store.keys
        return any(keys.is_erased(lead) for lead in {e.lead_id for e in events})


def _runs(batch: list[_Append]) -> list[list[_Append]]:
    """Appends whose positions follow on directly (another process's append between two
    of ours must be in the views before the second: a new run checks for it)."""
    runs: list[list[_Append]] = []
    for append in batch:
        if runs and append.first == runs[-1][-1].last + 1:
            runs[-1].append(append)
        else:
            runs.append([append])
    return runs


__all__ = ["InlineViews"]
