"""The Starlette application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy.exc import OperationalError as ViewsOperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from api.http.endpoint import to_routes
from api.http.errors import ApiError, error_body, handle_api_error
from api.http.metrics import Metrics
from api.http.observability import RequestObserver, configure_logging
from api.http.openapi import openapi_document
from api.http.routes import ENDPOINTS
from service_layer.bootstrap import Services
from service_layer.ledger import LedgerBusyError

log = logging.getLogger("leadledger.api")


class LedgerApp(Starlette):
    """Starlette with the request observer outside every layer, so a 500 has an id too."""

    outermost: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.outermost is None else self.outermost(stack)


def create_app(services: Services) -> Starlette:
    configure_logging(services.settings.log_level)
    metrics = Metrics(services.views.status, lambda: services.follower.errors)
    services.ledger.listeners.append(metrics.recorded)
    document = openapi_document(ENDPOINTS, _version())

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services.settings.follow:
            services.follower.start()
        log.info("started", extra={"follow": services.settings.follow})
        try:
            yield
        finally:
            # uvicorn runs this only once in-flight requests drained (SIGTERM: graceful
            # shutdown), so no request loses the follower or the engines under it.
            log.info("requests drained; stopping the follower and closing the stores")
            services.close()

    routes = [*to_routes(ENDPOINTS), Route("/openapi.json", openapi, methods=["GET"])]
    app = LedgerApp(
        routes=routes,
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: _http_error,
            StoreOperationalError: _unavailable,
            ViewsOperationalError: _unavailable,
            LedgerBusyError: _unavailable,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.metrics = metrics
    templates: dict[object, str] = {r.endpoint: r.path for r in routes}
    app.outermost = lambda stack: RequestObserver(
        stack, metrics, lambda key: services.workspaces.for_api_key(key), templates
    )
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(exc.status_code, code, str(exc.detail), None),
        exc.status_code,
        headers=exc.headers,
    )


async def _unavailable(request: Request, exc: Exception) -> Response:
    # Nothing was committed: ask the sender (Kapso retries) to come back.
    log.warning("store unavailable: %s", exc)
    return JSONResponse(
        error_body(503, "unavailable", "the database is unavailable", None),
        503,
        headers={"Retry-After": "5"},
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(500, "internal_error", "internal error", None), 500)


def _version() -> str:
    try:
        return version("leadledger")
    except PackageNotFoundError:
        return "0.0.0"
