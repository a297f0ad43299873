"""The change feed as readers use it: pages after a cursor, and wake-ups when the views
moved, so streams and the webhook dispatcher wait without polling tightly.

The views' catch-up runs in a thread; each waiter is an asyncio event on its own loop, set
thread-safely. No thread per reader: a stream awaits its event (or the poll interval, for
writes of other processes), then reads one page.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection

from domain.reducer.changes import ChangeItem
from projections import feed_rows, queries
from projections.catchup import LiveViews
from projections.database import Engines
from projections.feed_rows import ChangeQuery, Cursor
from projections.tables import ViewTables


class Wakeup:
    """One reader's wake-up: set when the views move after it was made."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()

    def set_threadsafe(self) -> None:
        with suppress(RuntimeError):  # its loop closed: the reader is gone
            self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self, seconds: float) -> bool:
        """True if woken, False when `seconds` passed first."""
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return False
        return True


class ChangeFeed:
    def __init__(self, engines: Engines, views: LiveViews) -> None:
        self._engines = engines
        self._waiters: set[Wakeup] = set()
        self._lock = threading.Lock()
        views.listeners.append(self.views_moved)

    def page(self, query: ChangeQuery) -> list[ChangeItem]:
        def read(conn: Connection, tables: ViewTables) -> list[ChangeItem]:
            return feed_rows.read(conn, tables, query)

        return queries.read_views(self._engines.read, read)

    def heads(self, workspaces: Iterable[str]) -> dict[str, int]:
        """The last position in the feed of each of these workspaces that has one."""

        def read(conn: Connection, tables: ViewTables) -> dict[str, int]:
            found = {w: feed_rows.head(conn, tables, w) for w in workspaces}
            return {w: top for w, top in found.items() if top is not None}

        return queries.read_views(self._engines.read, read)

    def end(self) -> tuple[int, Cursor]:
        """The views' generation, and the cursor after the feed's last item."""

        def read(conn: Connection, tables: ViewTables) -> tuple[int, Cursor]:
            return tables.generation, feed_rows.end(conn, tables)

        return queries.read_views(self._engines.read, read)

    def everything_after(self, after: Cursor, limit: int) -> tuple[int, list[ChangeItem]]:
        """The views' generation, and every workspace's items after `after`."""

        def read(conn: Connection, tables: ViewTables) -> tuple[int, list[ChangeItem]]:
            return tables.generation, feed_rows.everything_after(conn, tables, after, limit)

        return queries.read_views(self._engines.read, read)

    @contextmanager
    def wakeup(self) -> Iterator[Wakeup]:
        """Register before reading, wait after: a move between the two is not missed."""
        waiter = Wakeup(asyncio.get_running_loop())
        with self._lock:
            self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def views_moved(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.set_threadsafe()

    @property
    def readers(self) -> int:
        return len(self._waiters)
