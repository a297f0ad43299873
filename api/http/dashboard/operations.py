"""Operations: kept raw deliveries (re-ingested or not, and re-ingesting them), the
projections' position and lag, and the stats page with leads by status over time as a
server-rendered SVG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.http.auth import service_of
from api.http.dashboard.forms import read_form, require_acting
from api.http.dashboard.status_chart import StatusSeries, status_series, svg_chart
from api.http.dashboard.templating import page
from domain.principal import Role
from projections import queries
from projections.as_of import AuditQuery, audit

CHART_DAYS = 30
CHART_ROWS = 5000  # status decisions read for the chart (newest first)


async def operations_page(request: Request) -> Response:
    acting = require_acting(request)
    service = service_of(request)
    kept = await run_in_threadpool(service.unhandled_deliveries, acting.workspace, 0, 200)
    return page(
        request,
        "operations.html",
        deliveries=[(event, done) for _, event, done in kept],
        status=service.views_status(),
        follower_errors=service.follower_errors(),
        report=request.session.pop("reingest_report", None),
        can_reingest=acting.role is Role.ADMIN,
    )


async def reingest(request: Request) -> Response:
    """Translate this workspace's kept deliveries again (as `leadledger deliveries reingest`
    does), recorded as the signed-in person; the page shows the report."""
    acting = require_acting(request)
    await read_form(request)
    if acting.role is not Role.ADMIN:
        return Response("re-ingesting takes an admin key", status_code=403)
    report = await run_in_threadpool(
        service_of(request).reingest_deliveries, acting.workspace, acting.actor
    )
    request.session["reingest_report"] = (
        f"Re-ingested {report.reingested} delivery(ies): {report.appended} new fact(s); "
        f"{report.still_unhandled} still unhandled, {report.skipped} skipped."
    )
    return RedirectResponse("/ui/operations", status_code=303)


async def stats_page(request: Request) -> Response:
    acting = require_acting(request)
    service = service_of(request)
    until = datetime.now(UTC)
    since = until - timedelta(days=CHART_DAYS)
    query = AuditQuery(source=None, actor=None, since=since, until=until, limit=CHART_ROWS)
    entries, more = await run_in_threadpool(
        service.read_views, lambda c, t: audit(c, t, acting.workspace, query)
    )
    leads = await run_in_threadpool(
        service.read_views, lambda c, t: queries.lead_statuses(c, t, acting.workspace)
    )
    series: StatusSeries = status_series(leads, entries, since, until, more is None)
    return page(
        request, "stats.html", chart=svg_chart(series), days=CHART_DAYS, complete=series.complete
    )
