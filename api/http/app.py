"""The Starlette application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from api.http.dashboard.routes import dashboard_routes
from api.http.endpoint import to_routes
from api.http.errors import EXCEPTION_HANDLERS
from api.http.metrics import Metrics
from api.http.observability import RequestObserver
from api.http.openapi import openapi_document
from api.http.routes import ENDPOINTS
from api.http.routes.params import known_query_only
from api.logging_setup import configure_logging
from service_layer.service import LeadLedgerService

log = logging.getLogger("leadledger.api")


class LedgerApp(Starlette):
    """Starlette with the request observer outside every layer, so a 500 has an id too."""

    outermost: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.outermost is None else self.outermost(stack)


def create_app(service: LeadLedgerService) -> Starlette:
    configure_logging(service.settings.log_level)
    metrics = Metrics(service.views_status, service.follower_errors)
    service.on_commit(metrics.recorded)
    document = openapi_document(ENDPOINTS, _version())

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service.settings.follow:
            service.start_following()
        service.start_webhooks()
        log.info("started", extra={"follow": service.settings.follow})
        try:
            yield
        finally:
            # uvicorn runs this only once in-flight requests drained (SIGTERM: graceful
            # shutdown), so no request loses the follower or the engines under it.
            log.info("requests drained; stopping the follower and closing the stores")
            service.close()

    openapi_route = Route("/openapi.json", known_query_only(openapi, ()), methods=["GET"])
    routes = [*to_routes(ENDPOINTS), openapi_route]
    templates: dict[object, str] = {r.endpoint: r.path for r in routes}
    app = LedgerApp(
        routes=[*routes, *dashboard_routes(service)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.metrics = metrics
    app.outermost = lambda stack: RequestObserver(
        stack, metrics, lambda key: _workspace_of_key(service, key), templates
    )
    return app


def _workspace_of_key(service: LeadLedgerService, key: str) -> str | None:
    principal = service.authenticate(key)
    return None if principal is None else principal.workspace


def _version() -> str:
    try:
        return version("leadledger")
    except PackageNotFoundError:
        return "0.0.0"
