"""The lead page: the contact card with each value's provenance, the status and who holds
it, one timeline, the raw events; now or as of a past moment. `lead_live` answers the
page's live part again when the lead moved on (204 when it did not)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of
from api.http.dashboard.acting import Acting
from api.http.dashboard.forms import require_acting
from api.http.dashboard.ledger_facts import LedgerFacts, ledger_facts
from api.http.dashboard.live_stream import stream_after
from api.http.dashboard.templating import env, page
from api.http.dashboard.timeline import timeline
from api.http.handlers.ledger_queries import event_out
from domain.principal import Permission
from domain.reducer import ContactView
from domain.reducer.contact_view import MessageEntry, NoteEntry, StatusHistoryEntry
from domain.values import LeadStatus
from projections import queries
from projections.tables import ViewTables
from service_layer.errors import LeadNotFoundError

CARD_FIELDS = (
    ("name", "Name"), ("phone", "Phone"), ("sarah_name", "Name told to Sarah"),
    ("business_type", "Business type"), ("domisili", "Domisili"),
    ("business_duration", "Business duration"), ("pain_points", "Pain points"),
    ("priority", "Priority"), ("urgency_level", "Urgency"), ("lead_score", "Score"),
    ("lead_temperature", "Temperature"), ("chat_phase", "Sarah's phase"),
    ("first_referral", "First ad"), ("last_referral", "Latest ad"),
)  # fmt: skip
TIMELINE_SHOWN = 100  # the newest entries; "?timeline=all" shows every one


@dataclass(frozen=True)
class LeadReads:
    view: ContactView
    history: list[StatusHistoryEntry]
    notes: list[NoteEntry]
    messages: list[MessageEntry]


def _reads(newest: int | None) -> Callable[[Connection, ViewTables, ContactView], LeadReads]:
    """The view and its rows (only the `newest` of each kind; None: all), in one read."""

    def read(conn: Connection, t: ViewTables, view: ContactView) -> LeadReads:
        return LeadReads(
            view,
            queries.status_history(conn, t, view, newest=newest),
            queries.notes(conn, t, view, newest=newest),
            queries.messages(conn, t, view, newest=newest),
        )

    return read


def _itself(_conn: Connection, _t: ViewTables, view: ContactView) -> ContactView:
    return view


def _lead_id(request: Request) -> UUID | None:
    try:
        return UUID(request.path_params["lead_id"])
    except ValueError:
        return None


def _as_of(request: Request) -> datetime | None:
    raw = request.query_params.get("as_of", "").strip()
    if not raw:
        return None
    moment = datetime.fromisoformat(raw)  # ValueError: the caller answers 422
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _context(
    acting: Acting, reads: LeadReads, facts: LedgerFacts, as_of: datetime | None, full: bool
) -> dict[str, Any]:
    view = reads.view
    entries = timeline(reads.messages, reads.history, reads.notes, facts.entries, as_of)
    shown = entries if full else entries[-TIMELINE_SHOWN:]
    cut = len(shown) < len(entries) or TIMELINE_SHOWN in (
        len(reads.messages), len(reads.history), len(reads.notes)
    )  # fmt: skip
    return {
        "lead": view,
        "card": [(name, label, getattr(view, name, None)) for name, label in CARD_FIELDS],
        "card_names": {name for name, _ in CARD_FIELDS},
        "extracted": view.extracted,
        "said": facts.said,
        "timeline": shown,
        "timeline_cut": cut and not full,
        "event_count": facts.event_count,
        "as_of": as_of,
        "acting": acting,
        "statuses": [s.value for s in LeadStatus],
        "can_act": acting.may(Permission.STATUS),
    }


async def _load(
    request: Request, acting: Acting, lead_id: UUID, as_of: datetime | None
) -> dict[str, Any]:
    service = service_of(request)
    full = request.query_params.get("timeline") == "all"
    # As of a past moment the newest rows may all be later: read them all, then cut.
    newest = None if full or as_of is not None else TIMELINE_SHOWN
    reads = await run_in_threadpool(service.read_lead, acting.workspace, lead_id, _reads(newest))
    facts = await run_in_threadpool(
        ledger_facts, service, acting.workspace, lead_id, reads.view.version, as_of
    )
    if as_of is not None:
        view = await run_in_threadpool(service.lead_as_of, acting.workspace, lead_id, as_of)
        reads = LeadReads(view, reads.history, reads.notes, reads.messages)
    return _context(acting, reads, facts, as_of, full)


async def raw_events(request: Request) -> Response:
    """The raw events panel's content, fetched when it is opened (a long history would
    otherwise weigh on every page view)."""
    acting = require_acting(request)
    lead_id = _lead_id(request)
    if lead_id is None:
        return page(request, "not_found.html", status_code=404)
    try:
        as_of = _as_of(request)
        events = await run_in_threadpool(service_of(request).lead_events, acting.workspace, lead_id)
    except ValueError:
        return page(request, "not_found.html", status_code=422, problem="as_of: not a time")
    except LeadNotFoundError:
        return page(request, "not_found.html", status_code=404)
    shown = [event_out(e) for e in events if as_of is None or e.timestamp <= as_of]
    return page(request, "raw_events.html", events=shown, lead_id=lead_id)


async def lead_page(request: Request) -> Response:
    acting = require_acting(request)
    lead_id = _lead_id(request)
    if lead_id is None:
        return page(request, "not_found.html", status_code=404)
    try:
        as_of = _as_of(request)
    except ValueError:
        return page(request, "not_found.html", status_code=422, problem="as_of: not a time")
    # Read before the lead: the page's stream resumes from here, so no change is missed.
    after = None if as_of else await stream_after(service_of(request), acting)
    try:
        context = await _load(request, acting, lead_id, as_of)
    except LeadNotFoundError:
        return page(request, "not_found.html", status_code=404)
    return page(request, "lead.html", stream_after=after, **context)


async def lead_live(request: Request) -> Response:
    acting = require_acting(request)
    lead_id = _lead_id(request)
    if lead_id is None:
        return JSONResponse({"error": "lead_id: not a UUID"}, status_code=422)
    service = service_of(request)
    try:  # the view alone first: most polls find nothing new
        view = await run_in_threadpool(service.read_lead, acting.workspace, lead_id, _itself)
        if request.query_params.get("version") == str(view.version):
            return Response(status_code=204)
        context = await _load(request, acting, lead_id, None)
    except LeadNotFoundError:
        return JSONResponse({"error": "not found"}, status_code=404)
    version = str(context["lead"].version)
    html = env.get_template("lead_live.html").render(**context)
    return JSONResponse({"version": version, "html": html}, headers={"Cache-Control": "no-store"})
