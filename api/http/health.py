"""GET /readyz: may a load balancer send traffic here? Databases answer, views keep up."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import services_of
from projections.source import head
from service_layer.bootstrap import Services

log = logging.getLogger("leadledger.health")
RETRY_AFTER = "5"


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unavailable"] = Field(
        description="Both the event store and the views database answered"
    )
    projection_lag: int | None = Field(description="Ledger events not yet in the views")
    failed: Literal["event_store", "views", "projection_lag"] | None = Field(
        default=None, description="The first check that failed (only when not ready)"
    )


def readiness(services: Services) -> ReadyOut:
    try:
        head(services.store)  # the cheapest query the event store answers
    except Exception as exc:
        log.warning("not ready: event store unavailable: %s", exc)
        return ReadyOut(
            status="not_ready", database="unavailable", projection_lag=None, failed="event_store"
        )
    try:
        lag = services.views.status().lag
    except Exception as exc:
        log.warning("not ready: views database unavailable: %s", exc)
        return ReadyOut(
            status="not_ready", database="unavailable", projection_lag=None, failed="views"
        )
    if lag > services.settings.ready_max_lag:
        log.warning("not ready: projection lag %d > %d", lag, services.settings.ready_max_lag)
        return ReadyOut(
            status="not_ready", database="ok", projection_lag=lag, failed="projection_lag"
        )
    return ReadyOut(status="ready", database="ok", projection_lag=lag)


async def readyz(request: Request) -> Response:
    result = await run_in_threadpool(readiness, services_of(request))
    body = result.model_dump(exclude_defaults=True)
    if result.status == "ready":
        return JSONResponse(body)
    return JSONResponse(body, 503, headers={"Retry-After": RETRY_AFTER})
