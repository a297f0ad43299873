"""GET /readyz: may a load balancer send traffic here? Databases answer, writes land (the
ledger writer is not stuck, the database takes writes), views keep up."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of
from service_layer.service import LeadLedgerService

log = logging.getLogger("leadledger.health")
RETRY_AFTER = "5"


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unavailable"] = Field(
        description="Both the event store and the views database answered"
    )
    projection_lag: int | None = Field(description="Ledger events not yet in the views")
    failed: Literal["event_store", "ledger_writes", "views", "projection_lag"] | None = Field(
        default=None, description="The first check that failed (only when not ready)"
    )


def readiness(service: LeadLedgerService) -> ReadyOut:
    try:
        service.ledger_head()  # the cheapest query the event store answers
    except Exception as exc:
        log.warning("not ready: event store unavailable: %s", exc)
        return ReadyOut(
            status="not_ready", database="unavailable", projection_lag=None, failed="event_store"
        )
    problem = service.write_problem()
    if problem is not None:  # the writer stuck on one batch, or the database refusing writes
        log.warning("not ready: %s", problem)
        return ReadyOut(
            status="not_ready", database="unavailable", projection_lag=None, failed="ledger_writes"
        )
    try:
        lag = service.views_status().lag
    except Exception as exc:
        log.warning("not ready: views database unavailable: %s", exc)
        return ReadyOut(
            status="not_ready", database="unavailable", projection_lag=None, failed="views"
        )
    if lag > service.settings.ready_max_lag:
        log.warning("not ready: projection lag %d > %d", lag, service.settings.ready_max_lag)
        return ReadyOut(
            status="not_ready", database="ok", projection_lag=lag, failed="projection_lag"
        )
    return ReadyOut(status="ready", database="ok", projection_lag=lag)


async def readyz(request: Request) -> Response:
    result = await run_in_threadpool(readiness, service_of(request))
    body = result.model_dump(exclude_defaults=True)
    if result.status == "ready":
        return JSONResponse(body)
    return JSONResponse(body, 503, headers={"Retry-After": RETRY_AFTER})
