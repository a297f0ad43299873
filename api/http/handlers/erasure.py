"""`DELETE /leads/{lead_id}/personal-data`: erase a person's data (crypto-shredding).

The lead's key is destroyed, so its phone, names, texts, notes and extracted data become
unreadable in the ledger, in every rebuild and in every backup; the audit skeleton and the
erasure itself (who, when, why) stay. A second erasure answers 200 with the first one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import services_of, workspace_of
from api.http.body import parse_model, read_body
from api.http.errors import not_found
from api.http.handlers.lead_commands import lead_id_param
from api.http.schemas import NoNul, Text, _Strict
from projections.database import checkpoint_wal
from service_layer.bootstrap import Services
from service_layer.erasure import Erasure, ErasureTargetNotFoundError, erase_lead


class ErasureCommand(_Strict):
    actor: Text = Field(description="Who asks for the erasure (a staff member)")
    reason: Annotated[str, Field(min_length=1, max_length=2000), NoNul] = Field(
        description="Why, e.g. the request's id (kept in clear: no personal data here)"
    )


class ErasureOut(BaseModel):
    lead_id: UUID
    erased: bool = True
    erased_at: datetime
    erased_by: str
    reason: str
    position: int = Field(description="The erasure event's position in the lead's ledger")
    appended: bool = Field(description="False: the lead was already erased (this is that one)")
    deliveries_erased: int = Field(
        description="Unhandled deliveries that mentioned the phone, shredded with it"
    )


async def erase_personal_data(request: Request) -> Response:
    workspace = workspace_of(request)
    services = services_of(request)
    lead_id = lead_id_param(request)
    body = parse_model(await read_body(request, services.settings.max_body_bytes), ErasureCommand)
    try:
        erasure = await run_in_threadpool(
            erase_and_settle, services, workspace, lead_id, body.actor, body.reason
        )
    except ErasureTargetNotFoundError:
        raise not_found() from None
    return JSONResponse(erasure_out(erasure).model_dump(mode="json"))


def erase_and_settle(
    services: Services,
    workspace: str,
    lead_id: UUID,
    actor: str,
    reason: str,
    phone_e164: str | None = None,
) -> Erasure:
    """Erase, then wait until the views are blanked too and flush the views' WAL, so the
    erased values are gone from the database files when the caller gets the answer."""
    erasure = erase_lead(services.store, workspace, lead_id, actor, reason, phone_e164)
    services.committed(erasure.notification_id)
    nid = erasure.notification_id
    services.views.wait_for(nid if nid is not None else _head(services))
    checkpoint_wal(services.engines)
    return erasure


def _head(services: Services) -> int:
    return int(services.store.recorder.max_notification_id() or 0)


def erasure_out(erasure: Erasure) -> ErasureOut:
    return ErasureOut(
        lead_id=erasure.lead_id,
        erased_at=erasure.erased_at,
        erased_by=erasure.erased_by,
        reason=erasure.reason,
        position=erasure.position,
        appended=erasure.appended,
        deliveries_erased=erasure.deliveries_erased,
    )
