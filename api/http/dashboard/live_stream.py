"""GET /ui/changes/stream: the change stream for a signed-in dashboard session.

A browser's `EventSource` cannot send an `Authorization` header, and the dashboard never
holds the key, so the session cookie (signed, HttpOnly, SameSite=Strict) admits it here
instead. The items, filters, resume (`Last-Event-ID` / `?after=`) and heartbeats are those
of `GET /changes/stream` — the same handler and shared tail answer it — for the session
principal's workspace, if its role may read.

Without `after` (and `Last-Event-ID`) the stream starts at the workspace's newest change,
not at the beginning: the pages render their `after` from before their own reads, so
nothing between the render and the stream's opening is missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any
from urllib.parse import urlencode

from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of
from api.http.dashboard.acting import Acting
from api.http.dashboard.session import SIGNED_OUT, signed_in
from api.http.handlers import changes
from domain.principal import Permission
from service_layer.service import LeadLedgerService


async def stream_after(service: LeadLedgerService, acting: Acting) -> str:
    """The cursor after the workspace's newest change ("0": it has none yet)."""
    heads = await run_in_threadpool(service.changes.heads, [acting.workspace])
    return str(heads.get(acting.workspace, 0))


async def session_stream(request: Request) -> Response:
    acting = signed_in(request)
    if acting is None:  # an EventSource stops on 401: the page falls back to polling
        return JSONResponse({"error": "signed out"}, status_code=401)
    if not acting.may(Permission.READ):
        problem = f"role {acting.role.value!r} lacks permission {Permission.READ.value!r}"
        return JSONResponse({"error": problem}, status_code=403)
    scope = dict(request.scope)
    if not request.headers.get("last-event-id") and "after" not in request.query_params:
        after = await stream_after(service_of(request), acting)
        query = [*request.query_params.multi_items(), ("after", after)]
        scope["query_string"] = urlencode(query).encode()
    streaming = Request(scope, request.receive)
    # What `authorize` sets for a bearer key: the API's handler reads the principal there.
    streaming.state.principal = acting
    streaming.state.workspace = acting.workspace
    streaming.state.key_id = acting.key_id
    response = await changes.stream_changes(streaming)
    assert isinstance(response, EventSourceResponse)
    response.body_iterator = _until_signed_out(response.body_iterator, request.session.get("sid"))
    return response


async def _until_signed_out(batches: AsyncIterable[Any], sid: object) -> AsyncIterator[Any]:
    """The stream's batches until its session is signed out: nothing more goes to a
    signed-out session (a tab left open, or a copy of the cookie)."""
    async for batch in batches:
        if sid in SIGNED_OUT:
            return
        yield batch
