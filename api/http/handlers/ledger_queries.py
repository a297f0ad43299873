"""Ledger reads: a lead's events in order, a lead by any spelling of its phone or by its
WhatsApp user id (its contact view), kept raw deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, workspace_of
from api.http.errors import ApiError
from api.http.handlers.lead_commands import lead_id_param
from api.http.handlers.lead_queries import answer, itself, parse_query
from api.http.query_schemas import LeadOut
from api.http.schemas import (
    EventOut,
    EventsOut,
    EventsParams,
    UnhandledListOut,
    UnhandledOut,
    UnhandledParams,
)
from domain.phone import InvalidPhoneError, normalise_phone
from domain.whatsapp_identity import InvalidIdentityError, user_identity

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
_PROVENANCE = ("source", "actor", "occurred_at", "received_at", "idempotency_key")


async def lead_events(request: Request) -> Response:
    """A page of the lead's ledger: only the page is read from the store (one more event
    tells whether another page follows)."""
    workspace = workspace_of(request)
    lead_id = lead_id_param(request)
    page = parse_query(EventsParams, request.query_params)
    events = await run_in_threadpool(
        service_of(request).lead_events, workspace, lead_id, page.after, page.limit + 1
    )
    shown = events[: page.limit]
    out = EventsOut(
        lead_id=lead_id,
        events=[_event_out(e) for e in shown],
        next_after=shown[-1].originator_version if len(events) > page.limit else None,
        limit=page.limit,
    )
    return JSONResponse(out.model_dump(mode="json"))


async def lead_by_phone(request: Request) -> Response:
    service = service_of(request)
    try:
        phone = normalise_phone(request.path_params["phone"], service.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise ApiError(422, "validation_error", str(exc), "phone") from None
    # The contact view; when the ledger has the lead but the views lag, they catch up first.
    # The phone's current lead: an erased one is reachable by its id only (docs/erasure.md).
    return await _lead_by_key(request, phone)


async def lead_by_user_id(request: Request) -> Response:
    try:
        identity = user_identity(request.path_params["user_id"])
    except InvalidIdentityError as exc:
        raise ApiError(422, "validation_error", str(exc), "user_id") from None
    return await _lead_by_key(request, identity.lead_key)


async def _lead_by_key(request: Request, lead_key: str) -> Response:
    """The contact view of the lead holding the person's history: a phone or BSUID linked
    to another lead resolves to that one (docs/read-models.md "One person, many ids")."""
    workspace, service = workspace_of(request), service_of(request)
    lead_id = await run_in_threadpool(service.current_lead_id, workspace, lead_key)
    view = await run_in_threadpool(service.read_lead, workspace, lead_id, itself)
    return answer(LeadOut.model_validate(view))


async def unhandled_deliveries(request: Request) -> Response:
    workspace = workspace_of(request)
    page = parse_query(UnhandledParams, request.query_params)
    kept = await run_in_threadpool(
        service_of(request).unhandled_deliveries, workspace, page.after, page.limit + 1
    )
    shown = kept[: page.limit]
    out = UnhandledListOut(
        deliveries=[_unhandled_out(*row) for row in shown],
        next_after=shown[-1][0] if len(kept) > page.limit else None,
        limit=page.limit,
    )
    return JSONResponse(out.model_dump(mode="json"))


def _unhandled_out(position: int, event: Any, reingested: bool) -> UnhandledOut:
    return UnhandledOut(
        position=position,
        reingested=reingested,
        id=event.originator_id,
        channel=event.channel,
        event_type=event.event_type,
        reason=event.reason,
        received_at=event.received_at,
        body=event.body,
    )


def _event_out(event: Any) -> EventOut:
    attrs = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    provenance = {k: attrs.pop(k, None) for k in _PROVENANCE}
    recorded_at: datetime = event.timestamp
    return EventOut(
        position=event.originator_version,
        type=type(event).__name__,
        recorded_at=recorded_at,
        data=attrs,
        **provenance,
    )
