"""Ledger reads: a lead's events in order, a lead by any spelling of its phone (its contact
view), kept raw deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import services_of, workspace_of
from api.http.errors import ApiError, not_found
from api.http.handlers.lead_commands import lead_id_param
from api.http.handlers.lead_queries import answer, itself, read_lead
from api.http.query_schemas import LeadOut
from api.http.schemas import EventOut, EventsOut, UnhandledListOut, UnhandledOut
from domain.delivery import UnhandledDelivery
from domain.phone import InvalidPhoneError, normalise_phone
from service_layer.lead_resolution import current_lead_id
from service_layer.ledger import LeadNotFoundError

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
_PROVENANCE = ("source", "actor", "occurred_at", "received_at", "idempotency_key")


async def lead_events(request: Request) -> Response:
    workspace = workspace_of(request)
    lead_id = lead_id_param(request)
    services = services_of(request)
    try:
        await run_in_threadpool(services.ledger.get_lead, workspace, lead_id)
    except LeadNotFoundError:
        raise not_found() from None
    events = await run_in_threadpool(lambda: list(services.store.events.get(lead_id)))
    out = EventsOut(lead_id=lead_id, events=[_event_out(e) for e in events])
    return JSONResponse(out.model_dump(mode="json"))


async def lead_by_phone(request: Request) -> Response:
    workspace = workspace_of(request)
    services = services_of(request)
    try:
        phone = normalise_phone(request.path_params["phone"], services.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise ApiError(422, "validation_error", str(exc), "phone") from None
    # The contact view; when the ledger has the lead but the views lag, they catch up first.
    # The phone's current lead: an erased one is reachable by its id only (docs/erasure.md).
    lead_id = await run_in_threadpool(current_lead_id, services.store, workspace, phone)
    view = await run_in_threadpool(read_lead, services, workspace, lead_id, itself)
    return answer(LeadOut.model_validate(view))


async def unhandled_deliveries(request: Request) -> Response:
    workspace = workspace_of(request)
    services = services_of(request)
    kept = await run_in_threadpool(list_unhandled, services.store, workspace)
    return JSONResponse(UnhandledListOut(deliveries=kept).model_dump(mode="json"))


def list_unhandled(store: Any, workspace: str, limit: int = 1000) -> list[UnhandledOut]:
    topic = f"{UnhandledDelivery.__module__}:{UnhandledDelivery.__qualname__}.Kept"
    found = []
    for notification in store.recorder.select_notifications(
        start=None, limit=limit, topics=[topic]
    ):
        event = store.mapper.to_domain_event(notification)
        if event.workspace == workspace:
            found.append(
                UnhandledOut(
                    id=event.originator_id,
                    channel=event.channel,
                    event_type=event.event_type,
                    reason=event.reason,
                    received_at=event.received_at,
                    body=event.body,
                )
            )
    return found


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
