"""The leads list: the API's filters, sort and cursor pages, counts by status, and the rows
changed since a moment (what the live updates fetch).

The filters live in the session, not the URL: a text search may be a name or a phone, and
no personal data goes into a URL (or the logs that record URLs). Only the cursor, which
holds a sort value and a lead id, travels in the query string.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.http.auth import service_of
from api.http.dashboard.counts import counts_by_status
from api.http.dashboard.forms import read_form, require_acting
from api.http.dashboard.live_stream import stream_after
from api.http.dashboard.templating import env, page
from api.http.errors import ApiError
from api.http.handlers.lead_queries import lead_query
from domain.reducer.conversation import ConversationStatus
from domain.values import ChatPhase, LeadStatus, Source, Temperature
from projections.queries import LeadQuery

FILTERS = (
    "status",
    "temperature",
    "chat_phase",
    "conversation_status",
    "status_source",
    "score_min",
    "score_max",
    "q",
    "sort",
    "order",
)
PAGE_SIZE = 50
OVERLAP = timedelta(seconds=5)  # re-fetch a little: a view may commit just behind the clock


def _query(filters: dict[str, str], **extra: str) -> LeadQuery:
    params = {k: v for k, v in filters.items() if v} | {"limit": str(PAGE_SIZE), **extra}
    return lead_query(QueryParams(params))


async def leads_page(request: Request) -> Response:
    acting = require_acting(request)
    filters: dict[str, str] = request.session.get("filters") or {}
    cursor = request.query_params.get("cursor", "")
    error = request.session.pop("filter_error", None)
    try:
        query = _query(filters, **({"cursor": cursor} if cursor else {}))
    except ApiError as exc:
        error, query = exc.message, _query({})
    service = service_of(request)
    after = await stream_after(service, acting)  # before the reads: no change is missed
    views, next_cursor = await run_in_threadpool(service.list_leads, acting.workspace, query)
    counts = await _counts(request, acting.workspace)
    return page(
        request,
        "leads.html",
        leads=views,
        next_cursor=next_cursor,
        first_page=not cursor,
        filters=filters,
        counts=counts,
        error=error,
        now=datetime.now(UTC),
        stream_after=after,
        statuses=[s.value for s in LeadStatus],
        temperatures=[t.value for t in Temperature],
        chat_phases=[c.value for c in ChatPhase],
        conversation_statuses=list(get_args(ConversationStatus)),
        sources=[s.value for s in Source],
    )


async def set_filters(request: Request) -> Response:
    require_acting(request)
    form = await read_form(request)
    filters = {k: form[k].strip() for k in FILTERS if form.get(k, "").strip()}
    try:
        _query(filters)
    except ApiError as exc:  # refuse and keep the filters that worked
        request.session["filter_error"] = exc.message
        return RedirectResponse("/ui/leads", status_code=303)
    request.session["filters"] = filters
    request.session.pop("filter_error", None)
    return RedirectResponse("/ui/leads", status_code=303)


async def changed_rows(request: Request) -> Response:
    """JSON for the live list: rows updated since `since` (under the same filters), the ids
    of leads updated since then that the filters now exclude, the counts, and the `since`
    to send next time."""
    acting = require_acting(request)
    now = datetime.now(UTC)
    try:
        since = datetime.fromisoformat(request.query_params.get("since", ""))
    except ValueError:
        return JSONResponse({"error": "since: not an ISO time"}, status_code=422)
    filters = request.session.get("filters") or {}
    moved_since = (since - OVERLAP).isoformat()
    service = service_of(request)
    views, _ = await run_in_threadpool(
        service.list_leads, acting.workspace, _query(filters, updated_since=moved_since)
    )
    # Leads that moved but match the filters no more (their status left the filtered one):
    # the page takes their rows away rather than show what the filters exclude.
    moved, _ = await run_in_threadpool(
        service.list_leads, acting.workspace, _query({}, updated_since=moved_since)
    )
    matching = {v.lead_id for v in views}
    counts = await _counts(request, acting.workspace)
    rows = env.get_template("lead_row.html")
    return JSONResponse(
        {
            "since": now.isoformat(),
            "rows": [{"id": str(v.lead_id), "html": rows.render(lead=v)} for v in views],
            "gone": [str(v.lead_id) for v in moved if v.lead_id not in matching],
            "counts": env.get_template("counts.html").render(counts=counts),
        },
        headers={"Cache-Control": "no-store"},
    )


async def _counts(request: Request, workspace: str) -> dict[str, Any]:
    return await run_in_threadpool(counts_by_status, service_of(request), workspace)
