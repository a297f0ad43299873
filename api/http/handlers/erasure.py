"""`DELETE /leads/{lead_id}/personal-data`: erase a person's data (crypto-shredding).

The lead's key is destroyed, so its phone, names, texts, notes and extracted data become
unreadable in the ledger, in every rebuild and in every backup; the audit skeleton and the
erasure itself (who, when, why) stay. A second erasure answers 200 with the first one.
When the views could not be blanked within the wait, the answer is 202 with
`views_settled: false`: the erasure is done, the views follow; repeat to see them settled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, speaker, workspace_of
from api.http.body import parse_model, read_body
from api.http.handlers.lead_commands import lead_id_param
from api.http.schemas import NoNul, Text, _Strict
from service_layer.service import SettledErasure


class ErasureCommand(_Strict):
    actor: Text | None = Field(
        None, description="Who erases: the key's name (omit it, or repeat it; else 403)"
    )
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
    views_settled: bool = Field(
        description="False (with status 202): the views still have to blank the lead"
    )


async def erase_personal_data(request: Request) -> Response:
    workspace = workspace_of(request)
    service = service_of(request)
    lead_id = lead_id_param(request)
    body = parse_model(await read_body(request, service.settings.max_body_bytes), ErasureCommand)
    admin = speaker(request, actor=body.actor)
    settled = await run_in_threadpool(
        lambda: service.erase_personal_data(
            workspace, lead_id, admin.actor, body.reason, principal=admin
        )
    )
    status = 200 if settled.views_settled else 202
    return JSONResponse(erasure_out(settled).model_dump(mode="json"), status)


def erasure_out(settled: SettledErasure) -> ErasureOut:
    erasure = settled.erasure
    return ErasureOut(
        lead_id=erasure.lead_id,
        erased_at=erasure.erased_at,
        erased_by=erasure.erased_by,
        reason=erasure.reason,
        position=erasure.position,
        appended=erasure.appended,
        deliveries_erased=erasure.deliveries_erased,
        views_settled=settled.views_settled,
    )
