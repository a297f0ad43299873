"""GET /changes (pages) and GET /changes/stream (Server-Sent Events), docs/changes.md.

The stream resumes after `Last-Event-ID` (or `?after=`): each event's `id:` is its change id,
so a reconnecting client gets exactly what follows, no gap and no repeat. Heartbeats are
comment lines (sse-starlette's ping). Streams are served from one shared reader of the
feed's newest items (service_layer/change_tail.py), never a thread or a query each.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, workspace_of
from api.http.change_schemas import ChangesParams, change_out
from api.http.errors import ApiError
from api.http.handlers.lead_queries import parse_query
from domain.reducer.changes import ChangeItem
from projections.feed_rows import BadCursorError, ChangeQuery, Cursor
from service_layer.change_feed import ChangeFeed
from service_layer.change_tail import ChangeTail

STREAM_PAGE = 500
# Streams read the feed through a few threads of their own, so hundreds of them waking at
# once never take the threads that ingest and the other requests run in.
STREAM_READ_THREADS = 4
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()
_tails: WeakKeyDictionary[asyncio.AbstractEventLoop, ChangeTail] = WeakKeyDictionary()


def _tail(feed: ChangeFeed, poll: float) -> ChangeTail:
    """This event loop's shared reader of the feed's newest items."""
    loop = asyncio.get_running_loop()
    if loop not in _tails:
        _tails[loop] = ChangeTail(feed, poll, _sse)
    return _tails[loop]


def _readers() -> CapacityLimiter:
    """The stream readers' limiter of this event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = CapacityLimiter(STREAM_READ_THREADS)
    return _limiters[loop]


async def list_changes(request: Request) -> Response:
    query = _query(request, request.query_params.get("after"))
    items = await run_in_threadpool(service_of(request).changes.page, query)
    next_cursor = items[-1].id if items else request.query_params.get("after")
    body = {"changes": [change_out(i) for i in items], "next_cursor": next_cursor}
    return JSONResponse(body)


async def stream_changes(request: Request) -> Response:
    # Last-Event-ID (the browser's automatic resume) wins over ?after= (the first connect).
    resume = request.headers.get("last-event-id") or request.query_params.get("after")
    query = _query(request, resume)
    service = service_of(request)
    return EventSourceResponse(
        _events(service.changes, query, service.change_settings.changes_poll),
        ping=service.change_settings.sse_heartbeat,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(feed: ChangeFeed, query: ChangeQuery, poll: float) -> AsyncIterator[bytes]:
    async def read(page: ChangeQuery) -> list[ChangeItem]:
        return await to_thread.run_sync(feed.page, page, limiter=_readers())

    tail = _tail(feed, poll)
    async for batch in tail.stream(query, read):
        # One write per batch, encoded once for all the streams that get the same batch.
        yield tail.joined(batch)


def _sse(item: ChangeItem) -> bytes:
    return ServerSentEvent(data=json.dumps(change_out(item)), id=item.id).encode()


def _query(request: Request, after: str | None) -> ChangeQuery:
    workspace = workspace_of(request)
    params = parse_query(ChangesParams, request.query_params)
    try:
        cursor = Cursor.parse(after)
    except BadCursorError as exc:
        raise ApiError(422, "validation_error", f"after: {exc}", "after") from None
    return ChangeQuery(
        workspace,
        cursor,
        params.limit,
        tuple(params.types),
        None if params.lead_id is None else str(params.lead_id),
    )
