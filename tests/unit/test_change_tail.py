"""The streams' shared tail: whatever the cursor (before, inside or past the buffer), the
filters, the batches and the buffer's evictions, a stream gets exactly the items after its
cursor that pass its filters, in order, each once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.reducer.changes import VOCABULARY, ChangeItem
from projections.feed_rows import ChangeQuery, Cursor
from service_layer import change_tail
from service_layer.change_feed import Wakeup
from service_layer.change_tail import ChangeTail

AT = datetime(2025, 11, 24, tzinfo=UTC)
TYPES = ("lead.created", "lead.updated", "note.added", "lead.erased")


def item(position: int, seq: int, workspace: str, lead: str, kind: str) -> ChangeItem:
    return ChangeItem(
        position,
        seq,
        lead,
        workspace,
        kind,
        AT,
        AT,
        "human",
        "ana",
        None,
        None,
        {"fields": {"lead_status": {}}} if kind == "lead.updated" else {},
        {"text": "x"},
    )


class FakeFeed:
    """The feed as the tail sees it: items become visible batch by batch."""

    def __init__(self) -> None:
        self.visible: list[ChangeItem] = []
        self.waiters: set[Wakeup] = set()

    def publish(self, items: list[ChangeItem]) -> None:
        self.visible += items
        for waiter in list(self.waiters):
            waiter.event.set()

    def page(self, query: ChangeQuery) -> list[ChangeItem]:
        after = (query.after.position, query.after.seq)
        found = [
            i
            for i in self.visible
            if (i.position, i.seq) > after and i.workspace == query.workspace and query.wants(i)
        ]
        return found[: query.limit]

    def end(self) -> tuple[int, Cursor]:
        if not self.visible:
            return 1, Cursor()
        return 1, Cursor(self.visible[-1].position, 999_999_999)

    def everything_after(self, after: Cursor, limit: int) -> tuple[int, list[ChangeItem]]:
        key = (after.position, after.seq)
        return 1, [i for i in self.visible if (i.position, i.seq) > key][:limit]

    @contextlib.contextmanager
    def wakeup(self) -> Iterator[Wakeup]:
        waiter = Wakeup(asyncio.get_running_loop())
        self.waiters.add(waiter)
        try:
            yield waiter
        finally:
            self.waiters.discard(waiter)


events = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["acme", "other"]), st.sampled_from(["a", "b"]), st.sampled_from(TYPES)
        ),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    history=events,
    published_before=st.integers(0, 25),
    batch=st.integers(1, 6),
    start=st.integers(0, 30),
    types=st.sets(st.sampled_from(TYPES), max_size=2),
    lead=st.sampled_from([None, "a"]),
    buffer=st.integers(1, 8),
)
def test_a_stream_gets_exactly_its_items_after_its_cursor(
    history: list[list[tuple[str, str, str]]],
    published_before: int,
    batch: int,
    start: int,
    types: set[str],
    lead: str | None,
    buffer: int,
) -> None:
    every = [
        item(position, seq, workspace, lead_id, kind)
        for position, made in enumerate(history, start=1)
        for seq, (workspace, lead_id, kind) in enumerate(made)
    ]
    every = [i for i in every if i.type != "lead.erased"]  # erasure: its own test
    cursor = Cursor(start // 2, start % 2 - 1 if start % 2 else 999_999_999)
    query = ChangeQuery("acme", cursor, 500, tuple(sorted(types)), lead)
    expected = [
        i
        for i in every
        if (i.position, i.seq) > (cursor.position, cursor.seq)
        and i.workspace == "acme"
        and query.wants(i)
    ]
    feed = FakeFeed()
    original = change_tail.BUFFER
    change_tail.BUFFER = buffer
    try:
        got = asyncio.run(_run(feed, query, every, published_before, batch, len(expected)))
    finally:
        change_tail.BUFFER = original
    assert [i.id for i in got] == [i.id for i in expected]


async def _run(
    feed: FakeFeed,
    query: ChangeQuery,
    every: list[ChangeItem],
    published_before: int,
    batch: int,
    wanted: int,
) -> list[ChangeItem]:
    # An event's items become visible together (one view transaction): publish whole
    # positions, `published_before` of them first, then `batch` at a time.
    positions = sorted({i.position for i in every})

    def upto(count: int) -> int:
        if count >= len(positions):
            return len(every)
        return sum(1 for i in every if i.position < positions[count])

    feed.publish(every[: upto(published_before)])
    tail = ChangeTail(feed, poll=0.01, encode=lambda i: i.id.encode())  # type: ignore[arg-type]  # the fake has what it uses
    got: list[ChangeItem] = []

    async def read(page: ChangeQuery) -> list[ChangeItem]:
        await asyncio.sleep(0)
        return feed.page(page)

    async def consume() -> None:
        async for found in tail.stream(query, read):
            got.extend(found)
            if len(got) >= wanted:
                return

    async def produce() -> None:
        for done in range(published_before, len(positions), batch):
            await asyncio.sleep(0.001)
            feed.publish(every[upto(done) : upto(done + batch)])

    consumer = asyncio.create_task(consume())
    await produce()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(consumer), 2.0 if wanted else 0.1)
    await asyncio.sleep(0.05)  # anything extra would arrive now
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer
    if tail._task is not None:
        tail._task.cancel()
    return got


def test_the_buffer_drops_an_erased_lead_s_personal_values() -> None:
    async def scenario() -> list[ChangeItem]:
        feed = FakeFeed()
        tail = ChangeTail(feed, poll=0.01, encode=lambda i: i.id.encode())  # type: ignore[arg-type]
        tail._reset(1, Cursor())
        tail._append(
            [item(1, 0, "acme", "a", "note.added"), item(1, 1, "acme", "a", "lead.updated")]
        )
        personal_only = item(2, 0, "acme", "a", "lead.updated")
        personal_only = ChangeItem(**{**vars(personal_only), "data": {"fields": {}}})
        tail._append([personal_only, item(3, 0, "acme", "b", "note.added")])
        erased = item(4, 0, "acme", "a", "lead.erased")
        tail._append([ChangeItem(**{**vars(erased), "personal": None})])  # as the table has it
        return tail.items

    kept = asyncio.run(scenario())
    assert [(i.id, i.personal) for i in kept] == [
        ("1.0", None),
        ("1.1", None),  # public fields: kept, personal part gone
        ("3.0", {"text": "x"}),  # another lead
        ("4.0", None),
    ]


@pytest.mark.parametrize("kind", VOCABULARY)
def test_every_type_can_be_asked_for(kind: str) -> None:
    assert ChangeQuery("acme", types=(kind,)).types == (kind,)


@settings(max_examples=40, deadline=None)
@given(history=events, batch=st.integers(1, 6), types=st.sets(st.sampled_from(TYPES), max_size=2))
def test_streams_sharing_a_tail_each_get_their_items_and_their_bytes(
    history: list[list[tuple[str, str, str]]], batch: int, types: set[str]
) -> None:
    # Two streams alike (they share batches) and one filtered, all live from the start.
    every = [
        item(position, seq, workspace, lead_id, kind)
        for position, made in enumerate(history, start=1)
        for seq, (workspace, lead_id, kind) in enumerate(made)
        if kind != "lead.erased"
    ]
    queries = [ChangeQuery("acme"), ChangeQuery("acme"), ChangeQuery("acme", types=tuple(types))]
    expected = [[i for i in every if i.workspace == "acme" and q.wants(i)] for q in queries]
    got, counted = asyncio.run(_run_many(every, queries, batch, [len(e) for e in expected]))
    assert counted == (len(queries), 0)  # open streams, as the read interval counts them
    assert [[i.id for i in items] for items, _ in got] == [[i.id for i in e] for e in expected]
    # What each stream writes is its own items' encodings, shared batch or not.
    assert [wire for _, wire in got] == [b"".join(i.id.encode() for i in e) for e in expected]


async def _run_many(
    every: list[ChangeItem], queries: list[ChangeQuery], batch: int, wanted: list[int]
) -> tuple[list[tuple[list[ChangeItem], bytes]], tuple[int, int]]:
    feed = FakeFeed()
    tail = ChangeTail(feed, poll=0.01, encode=lambda i: i.id.encode())  # type: ignore[arg-type]
    got: list[tuple[list[ChangeItem], bytes]] = [([], b"") for _ in queries]

    async def read(page: ChangeQuery) -> list[ChangeItem]:
        return feed.page(page)

    async def consume(n: int) -> None:
        async for found in tail.stream(queries[n], read):
            items, wire = got[n]
            got[n] = (items + found, wire + tail.joined(found))

    consumers = [asyncio.create_task(consume(n)) for n in range(len(queries))]
    await asyncio.sleep(0.05)  # every stream is live, at the feed's (empty) end
    live = tail.streams
    for start in range(0, len(every), batch):
        feed.publish(every[start : start + batch])
        await asyncio.sleep(0.001)
    for _ in range(200):
        if all(len(items) >= n for (items, _), n in zip(got, wanted, strict=True)):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # anything extra would arrive now
    for consumer in consumers:
        consumer.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    if tail._task is not None:
        tail._task.cancel()
    return got, (live, tail.streams)


@given(st.lists(st.integers(0, 5000), min_size=2, max_size=5))
def test_the_read_interval_grows_with_the_streams_within_its_bounds(counts: list[int]) -> None:
    tail = ChangeTail(FakeFeed(), poll=0.01, encode=lambda i: i.id.encode())  # type: ignore[arg-type]
    intervals = []
    for count in sorted(counts):
        tail.streams = count
        intervals.append(tail.read_interval())
    assert intervals == sorted(intervals)
    assert all(
        change_tail.MIN_READ_INTERVAL <= i <= change_tail.MAX_READ_INTERVAL for i in intervals
    )
