"""The Starlette application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from eventsourcing.persistence import OperationalError as StoreOperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.ledger import LedgerBusyError
from api.bootstrap import Services
from api.endpoint import to_routes
from api.errors import ApiError, error_body, handle_api_error
from api.openapi import openapi_document
from api.routes import ENDPOINTS

log = logging.getLogger("leadledger.api")


def create_app(services: Services) -> Starlette:
    document = openapi_document(ENDPOINTS, _version())

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services.settings.follow:
            services.follower.start()
        yield
        services.close()

    app = Starlette(
        routes=[*to_routes(ENDPOINTS), Route("/openapi.json", openapi, methods=["GET"])],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: _http_error,
            StoreOperationalError: _unavailable,
            LedgerBusyError: _unavailable,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.services = services
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
