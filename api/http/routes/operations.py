"""The operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.endpoint import Endpoint
from api.http.health import ReadyOut, readyz
from api.http.metrics import prometheus_metrics
from api.http.schemas import HealthOut


async def healthz(_request: Request) -> Response:
    return JSONResponse(HealthOut().model_dump())


OPERATIONS: list[Endpoint] = [
    Endpoint(
        "GET", "/healthz", healthz, "Process is alive", "operations", "none", response=HealthOut
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "Ready for traffic: the databases answer and the views keep up",
        "operations",
        "none",
        response=ReadyOut,
        description="200 when the event store and the views database answer and the "
        "projection lag is at most `LEADLEDGER_READY_MAX_LAG` events; otherwise 503 with "
        "`Retry-After` and this same body, `failed` naming the check.",
    ),
    Endpoint(
        "GET",
        "/metrics",
        prometheus_metrics,
        "Prometheus metrics (text exposition format)",
        "operations",
        "none",
        response_media="text/plain",
        description="Unauthenticated: expose it on a private interface or network only. "
        "Labels carry route templates, methods and statuses, never workspace data.",
    ),
]
