"""The newest changes, read once per process and shared by every stream.

Without it, each of N streams would query the feed on every wake-up: N queries per
catch-up, which under ingest would compete with ingest itself. Instead one task per event
loop reads the new items of every workspace (woken like the streams were, polling as a
fallback) into a bounded, contiguous buffer; streams whose cursor lies inside it are served
from memory (a bisect, then their filters), the others read the feed page by page until
they reach it.

The buffer is contiguous: it holds every item after `covered_from` up to `tail`, in order,
because views commit in ledger order. It follows erasures (an item of an erased lead loses
its personal part, personal-only `lead.updated` items go, as projections/erasure.py does in
the table) and a generation switch (a rebuild, maybe under another policy) empties it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from domain.reducer.changes import ChangeItem
from projections.feed_rows import ChangeQuery, Cursor
from service_layer.change_feed import ChangeFeed

log = logging.getLogger("leadledger.changes")
BUFFER = 5000  # items kept for streams that lag a little
READ = 1000  # items per read of the tail
# At most one read of the tail (and one wake-up of the streams) per interval: under ingest
# the views move many times a second, and each wake-up costs a write to every stream, about
# 30 µs each through sse-starlette, the middleware and uvicorn (py-spy, 200 streams). The
# interval grows with the streams so that those writes stay under ~15 % of a CPU: 10 ms for
# up to 50 streams, 40 ms for 200, at most 100 ms. A change after a quiet spell is read at
# once.
MIN_READ_INTERVAL = 0.01
READ_INTERVAL_PER_STREAM = 0.0002
MAX_READ_INTERVAL = 0.1
_Shared = tuple[list[ChangeItem], Cursor]  # a batch, and the cursor after it


def key(item: ChangeItem) -> tuple[int, int]:
    return (item.position, item.seq)


def _at(cursor: Cursor) -> tuple[int, int]:
    return (cursor.position, cursor.seq)


class ChangeTail:
    """`encode`: an item as its streams send it; done once per buffered item, not per
    stream (hundreds of streams would otherwise each encode every item)."""

    def __init__(
        self, feed: ChangeFeed, poll: float, encode: Callable[[ChangeItem], bytes]
    ) -> None:
        self.feed = feed
        self.poll = poll
        self._encode = encode
        self._wire: dict[tuple[int, int], bytes] = {}
        # Streams with the same cursor and filters (most of them, once caught up) share one
        # batch and its bytes until the buffer next changes.
        self._shared: dict[tuple[Cursor, str, tuple[str, ...], str | None], _Shared] = {}
        self._joined: dict[int, bytes] = {}
        self.items: list[ChangeItem] = []
        self.keys: list[tuple[int, int]] = []
        self.covered_from: Cursor | None = None  # None: not started yet
        self.generation: int | None = None
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.streams = 0  # open streams: the read interval grows with them

    async def stream(
        self,
        query: ChangeQuery,
        read: Callable[[ChangeQuery], Awaitable[list[ChangeItem]]],
    ) -> AsyncIterator[list[ChangeItem]]:
        """The items after `query.after` that pass its filters, in batches, forever.
        `read` runs a feed page off the event loop (for cursors behind the buffer)."""
        self._start()
        self.streams += 1  # counted in this generator: no extra hop per batch
        try:
            cursor = query.after
            while True:
                moved = self._moved
                mark = self.covered_from
                if mark is not None and _at(cursor) >= _at(mark):
                    batch, cursor = self._after(cursor, query)
                else:
                    page = ChangeQuery(query.workspace, cursor, 500, query.types, query.lead_id)
                    batch = await read(page)
                    if batch:
                        cursor = Cursor(batch[-1].position, batch[-1].seq)
                    elif mark is not None and _at(mark) > _at(cursor):
                        cursor = mark  # nothing of ours up to the buffer's start: join it
                        continue
                if batch:
                    yield batch
                    continue
                # A timeout, not wait_for: no task per stream per wake-up (hundreds of them).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await moved.wait()
        finally:
            self.streams -= 1

    def read_interval(self) -> float:
        per_streams = self.streams * READ_INTERVAL_PER_STREAM
        return min(MAX_READ_INTERVAL, max(MIN_READ_INTERVAL, per_streams))

    def encoded(self, item: ChangeItem) -> bytes:
        """The item as sent, from the cache when it is in the buffer."""
        at = key(item)
        wire = self._wire.get(at)
        if wire is None:
            wire = self._encode(item)
            if self.keys and self.keys[0] <= at <= self.keys[-1]:
                self._wire[at] = wire
        return wire

    def joined(self, batch: list[ChangeItem]) -> bytes:
        """The batch as sent: computed once for every stream served this very batch."""
        wire = self._joined.get(id(batch))
        if wire is None:
            wire = b"".join(self.encoded(item) for item in batch)
            if any(shared[0] is batch for shared in self._shared.values()):
                self._joined[id(batch)] = wire
        return wire

    def _after(self, cursor: Cursor, query: ChangeQuery) -> _Shared:
        at = (cursor, query.workspace, query.types, query.lead_id)
        found = self._shared.get(at)
        if found is None:
            found = self._shared[at] = self._filtered(cursor, query)
        return found

    def _filtered(self, cursor: Cursor, query: ChangeQuery) -> _Shared:
        start = bisect.bisect_right(self.keys, _at(cursor))
        batch = [
            item
            for item in self.items[start:]
            if item.workspace == query.workspace and query.wants(item)
        ]
        if self.keys and self.keys[-1] > _at(cursor):
            last = self.items[-1]
            return batch, Cursor(last.position, last.seq)
        return batch, cursor

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with self.feed.wakeup() as woken:
                read_at = loop.time()
                try:
                    await self._read_new()
                except Exception:  # the database may be away: streams poll, retried
                    log.exception("reading the change feed's tail failed")
                await woken.wait(self.poll)
            # Moves within the interval are gathered into the next read.
            if (rest := read_at + self.read_interval() - loop.time()) > 0:
                await asyncio.sleep(rest)

    async def _read_new(self) -> None:
        while True:
            after = self.covered_from if not self.items else _cursor(self.items[-1])
            if after is None:
                generation, end = await asyncio.to_thread(self.feed.end)
                self._reset(generation, end)
                continue
            generation, items = await asyncio.to_thread(self.feed.everything_after, after, READ)
            if generation != self.generation:  # a rebuild switched the views: start over
                generation, end = await asyncio.to_thread(self.feed.end)
                self._reset(generation, end)
                continue
            if not items:
                return
            self._append(items)

    def _reset(self, generation: int, end: Cursor) -> None:
        self.items, self.keys = [], []
        self._wire.clear()
        self.generation, self.covered_from = generation, end
        self._wake()

    def _append(self, items: list[ChangeItem]) -> None:
        for item in items:
            if item.type == "lead.erased":
                self._forget_personal(item.lead_id)
        self.items += items
        self.keys += [key(i) for i in items]
        if len(self.items) > 2 * BUFFER:
            cut = len(self.items) - BUFFER
            self.covered_from = _cursor(self.items[cut - 1])
            for gone in self.keys[:cut]:
                self._wire.pop(gone, None)
            del self.items[:cut]
            del self.keys[:cut]
        self._wake()

    def _forget_personal(self, lead_id: str) -> None:
        kept = [
            replace(i, personal=None) if i.lead_id == lead_id else i
            for i in self.items
            if not (i.lead_id == lead_id and i.type == "lead.updated" and not i.data.get("fields"))
        ]
        self.items, self.keys = kept, [key(i) for i in kept]
        present = set(self.keys)
        self._wire = {k: v for k, v in self._wire.items() if k in present}

    def _wake(self) -> None:
        self._shared.clear()
        self._joined.clear()
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()


def _cursor(item: ChangeItem) -> Cursor:
    return Cursor(item.position, item.seq)
