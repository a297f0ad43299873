"""Views in the same pass as the append (Marten's "inline" projections).

The ledger's writer has just committed a transaction and still holds its events, decoded
and with their ledger positions. Folding them into the views right there, before the
callers are answered, saves the follower reading every event back, decrypting and decoding
it again, and makes each answer read-your-writes by construction.

It is the follower's page step (projections/catchup.py) on events it did not have to read:
one view transaction that takes the projection lock, checks the tracking position, applies
the events with the same savepoint-per-lead isolation (projections/writer.py) and moves the
position. It only applies when nothing lies between the views' position and the
transaction's first event; otherwise (another process's writes, a backlog, a rebuild's
swap) it leaves everything to the follower, which stays for exactly that. A failure here
never fails the committed append: it is logged and the follower does the work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Recording

from adapters.eventstore.store import LedgerStore
from adapters.eventstore.topics import is_lead_event
from domain.reducer import LedgerEvent
from projections.catchup import LiveViews
from projections.source import to_ledger_event
from projections.state import lock_state, policy_of
from projections.tables import view_tables
from projections.tracking import advance, position
from projections.writer import apply_page_isolating

log = logging.getLogger("leadledger.projections")


class InlineViews:
    """`committed` is the store's hook (LedgerStore.committed), called after each append."""

    def __init__(self, views: LiveViews) -> None:
        self.views = views
        self.applied = 0  # view transactions this process applied inline (observable)
        self.skipped = 0  # appends left to the follower
        self._covered = 0  # the highest ledger position the views took inline
        self._lock = threading.Lock()

    @property
    def store(self) -> LedgerStore:
        return self.views.store

    def covers(self, notification_id: int) -> bool:
        """The views already include `notification_id` because this pass applied it."""
        return notification_id <= self._covered

    def committed(self, recordings: Sequence[Recording[Any]]) -> None:
        if not recordings:
            return
        ordered = sorted(recordings, key=lambda r: r.notification.id)
        first, last = ordered[0].notification.id, ordered[-1].notification.id
        events = [
            to_ledger_event(r.domain_event, r.notification.id)
            for r in ordered
            if is_lead_event(r.notification.topic)
        ]
        if self._shredded(events):
            # Sealed redacted (the key is gone): what the follower reads back is not what
            # this process holds in memory. The follower projects what the ledger keeps.
            self.skipped += 1
            return
        try:
            took = self._apply(events, first, last)
        except Exception:  # the append is committed: never fail it for the views
            log.exception("inline views failed on %s..%s (left to the follower)", first, last)
            took = False
        if not took:
            self.skipped += 1
            return
        self.applied += 1
        with self._lock:
            self._covered = max(self._covered, last)
        self.views.moved()

    def _apply(self, events: list[LedgerEvent], first: int, last: int) -> bool:
        with self.views.engines.write.begin() as conn:
            state = lock_state(conn)
            tables = view_tables(state.active_generation)
            at = position(conn, tables)
            if at >= first or not self._nothing_between(at, first):
                return False  # applied already (the follower was quicker), or a gap
            if events:
                apply_page_isolating(conn, tables, events, policy_of(state.active_policy))
            advance(conn, tables, last)
            return True

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


__all__ = ["InlineViews"]
