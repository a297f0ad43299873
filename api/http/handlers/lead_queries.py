"""The query API: GET /leads (filters, sort, keyset pages), a lead now or as of a moment, its
status history, notes and messages, /stats and /audit. Workspace-scoped by the API key:
another workspace's lead is simply not found.

Reads come from the (eventually consistent) views; `read_lead` catches them up first when
the ledger already has a lead they do not show yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, workspace_of
from api.http.errors import ApiError
from api.http.handlers.lead_commands import lead_id_param
from api.http.query_schemas import (
    AsOfParams,
    AuditEntryOut,
    AuditPageOut,
    AuditParams,
    LeadListParams,
    LeadOut,
    LeadPageOut,
    MessageOut,
    MessagesOut,
    NoteOut,
    NotesOut,
    StatsOut,
    StatusChangeOut,
    StatusHistoryOut,
)
from domain.phone import international_digits
from domain.reducer import ContactView
from projections import queries
from projections.as_of import AuditQuery, audit
from projections.cursors import audit_after, audit_cursor, lead_after, lead_cursor
from projections.queries import LeadQuery
from projections.tables import ViewTables

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
LeadRead = Callable[[Connection, ViewTables, ContactView], T]


def answer(model: BaseModel) -> Response:
    return JSONResponse(model.model_dump(mode="json", by_alias=True))


async def list_leads(request: Request) -> Response:
    workspace = workspace_of(request)
    service = service_of(request)
    query = lead_query(request.query_params, service.workspaces.default_region)
    views, key = await run_in_threadpool(
        service.read_views,
        lambda conn, t: queries.list_leads(conn, t, workspace, query),
    )
    cursor = None if key is None else lead_cursor(key, query.sort, query.descending)
    return answer(
        LeadPageOut(
            leads=[LeadOut.model_validate(v) for v in views], next_cursor=cursor, limit=query.limit
        )
    )


async def get_lead(request: Request) -> Response:
    workspace, lead_id = workspace_of(request), lead_id_param(request)
    service = service_of(request)
    as_of = parse_query(AsOfParams, request.query_params).as_of
    if as_of is None:
        view = await run_in_threadpool(service.read_lead, workspace, lead_id, itself)
    else:
        view = await run_in_threadpool(service.lead_as_of, workspace, lead_id, as_of)
    return answer(LeadOut.model_validate(view))


async def status_history(request: Request) -> Response:
    entries = await _on_lead(request, queries.status_history)
    return answer(
        StatusHistoryOut(
            lead_id=lead_id_param(request),
            history=[StatusChangeOut.model_validate(e) for e in entries],
        )
    )


async def lead_notes(request: Request) -> Response:
    entries = await _on_lead(request, queries.notes)
    return answer(
        NotesOut(lead_id=lead_id_param(request), notes=[NoteOut.model_validate(e) for e in entries])
    )


async def lead_messages(request: Request) -> Response:
    entries = await _on_lead(request, queries.messages)
    return answer(
        MessagesOut(
            lead_id=lead_id_param(request), messages=[MessageOut.model_validate(e) for e in entries]
        )
    )


async def lead_stats(request: Request) -> Response:
    workspace = workspace_of(request)
    total, by_status, by_temp = await run_in_threadpool(
        service_of(request).read_views,
        lambda conn, t: queries.stats(conn, t, workspace),
    )
    return answer(StatsOut(total=total, by_status=by_status, by_temperature=by_temp))


async def audit_trail(request: Request) -> Response:
    workspace = workspace_of(request)
    query = audit_query(request.query_params)
    entries, key = await run_in_threadpool(
        service_of(request).read_views,
        lambda conn, t: audit(conn, t, workspace, query),
    )
    return answer(
        AuditPageOut(
            entries=[AuditEntryOut.model_validate(e) for e in entries],
            next_cursor=None if key is None else audit_cursor(key),
            limit=query.limit,
        )
    )


async def _on_lead(request: Request, read: LeadRead[T]) -> T:
    workspace, lead_id = workspace_of(request), lead_id_param(request)
    return await run_in_threadpool(service_of(request).read_lead, workspace, lead_id, read)


def itself(_conn: Connection, _t: ViewTables, view: ContactView) -> ContactView:
    return view


# -- query strings -------------------------------------------------------------------------


def parse_query(model: type[M], params: QueryParams) -> M:
    """The model's fields from the query string (empty = absent; an unknown name never gets
    here: the route answers 400, api/http/routes/params.py);
    422 naming the first bad parameter. List fields repeat or take commas."""
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if get_origin(field.annotation) is list:
            items = [v.strip() for raw in params.getlist(name) for v in raw.split(",")]
            if any(items):
                data[name] = [v for v in items if v]
        elif (value := params.get(name)) is not None and value.strip():
            data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "query"
        raise ApiError(422, "validation_error", f"{name}: {error['msg']}", name) from None


def lead_query(params: QueryParams, region: str = "ID") -> LeadQuery:
    """The list query; `region` reads a phone typed the local way in `q` ("0819…")."""
    p = parse_query(LeadListParams, params)
    if p.score_min is not None and p.score_max is not None and p.score_min > p.score_max:
        raise ApiError(422, "validation_error", "score_min: above score_max", "score_min")
    descending = p.order == "desc"
    return LeadQuery(
        statuses=tuple(s.value for s in p.status),
        temperatures=tuple(t.value for t in p.temperature),
        chat_phases=tuple(c.value for c in p.chat_phase),
        conversation_statuses=tuple(p.conversation_status),
        status_sources=tuple(s.value for s in p.status_source),
        score_min=p.score_min,
        score_max=p.score_max,
        updated_since=p.updated_since,
        updated_until=p.updated_until,
        last_message_since=p.last_message_since,
        last_message_until=p.last_message_until,
        q=p.q,
        q_phone=None if p.q is None else international_digits(p.q, region),
        sort=p.sort,
        descending=descending,
        limit=p.limit,
        after=None if p.cursor is None else _cursor(lead_after, p.cursor, p.sort, descending),
    )


def audit_query(params: QueryParams) -> AuditQuery:
    p = parse_query(AuditParams, params)
    return AuditQuery(
        source=None if p.source is None else p.source.value,
        actor=p.actor,
        principal=p.principal,
        since=p.since,
        until=p.until,
        limit=p.limit,
        after=None if p.cursor is None else _cursor(audit_after, p.cursor),
    )


def _cursor(decode: Callable[..., T], *args: Any) -> T:
    try:
        return decode(*args)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"cursor: {exc}", "cursor") from None
