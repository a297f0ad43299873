"""Clear errors: a status code and a JSON body naming the field. Nothing is stored.

`EXCEPTION_HANDLERS` is the one place where what the service (and the stores under it)
raise becomes an HTTP answer; handlers raise `ApiError` only for what is wrong with the
request itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from eventsourcing.persistence import OperationalError as StoreOperationalError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError as ViewsOperationalError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from service_layer.errors import (
    IdempotencyKeyReusedError,
    IngestTimeoutError,
    LeadNotFoundError,
    LedgerBusyError,
    SignatureWorkspaceMismatchError,
    UnknownPhoneNumberIdError,
    ViewLaggingError,
)
from service_layer.key_ring import ApiKeyError, ApiKeyNotFoundError

log = logging.getLogger("leadledger.api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}  # more named parts of the error (a 403's role, permission)


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    fields = [_loc(prefix, e["loc"]) for e in exc.errors()]
    first = exc.errors()[0]
    return ApiError(422, "validation_error", f"{fields[0]}: {first['msg']}", fields[0])


def not_found(what: str = "lead") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def unauthorized(message: str) -> ApiError:
    """A missing or unknown API key: the challenge names the scheme to use (RFC 9110)."""
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def signature_rejected(message: str) -> ApiError:
    """A webhook's signature is missing or wrong: no Bearer challenge, since no bearer
    token would be accepted there (the sender signs the body with its shared secret)."""
    return ApiError(401, "unauthorized", message)


def unavailable(message: str) -> ApiError:
    # Nothing is answered as committed: ask the sender (Kapso retries) to come back.
    return ApiError(503, "unavailable", message, headers={"Retry-After": "5"})


# What each service exception means to an HTTP client; a subclass maps as its base does.
SERVICE_ERRORS: dict[type[Exception], Callable[[Exception], ApiError]] = {
    LeadNotFoundError: lambda _: not_found(),
    ApiKeyNotFoundError: lambda _: not_found("key"),
    ApiKeyError: lambda e: ApiError(422, "validation_error", str(e)),
    UnknownPhoneNumberIdError: lambda e: ApiError(
        422, "unknown_phone_number_id", str(e), "phone_number_id"
    ),
    SignatureWorkspaceMismatchError: lambda e: signature_rejected(str(e)),
    IdempotencyKeyReusedError: lambda e: ApiError(
        422, "idempotency_key_reused", str(e), "Idempotency-Key"
    ),
    ViewLaggingError: lambda _: ApiError(
        503, "view_lagging", "the lead's view is not ready yet; retry", headers={"Retry-After": "1"}
    ),
    IngestTimeoutError: lambda _: unavailable("the database did not answer in time; retry later"),
    LedgerBusyError: lambda _: unavailable("the database is unavailable"),
    StoreOperationalError: lambda _: unavailable("the database is unavailable"),
    ViewsOperationalError: lambda _: unavailable("the database is unavailable"),
}


def error_body(
    status: int, code: str, message: str, field: str | None, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": {**error, **(extra or {})}}


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.status, exc.code, exc.message, exc.field, exc.extra),
        exc.status,
        headers=exc.headers,
    )


async def handle_service_error(request: Request, exc: Exception) -> Response:
    for kind in type(exc).__mro__:
        if kind in SERVICE_ERRORS:
            error = SERVICE_ERRORS[kind](exc)
            if error.status >= 500:
                log.warning("%s: %s", error.code, exc)
            return await handle_api_error(request, error)
    return await _internal_error(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(exc.status_code, code, str(exc.detail), None),
        exc.status_code,
        headers=exc.headers,
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Starlette re-raises after this answer and uvicorn then closes the connection: say
    # so, or a keep-alive client sends its next request into a closing socket.
    return JSONResponse(
        error_body(500, "internal_error", "internal error", None),
        500,
        headers={"Connection": "close"},
    )


# nginx's code for "the client closed the request": nobody reads this answer, but the
# request log and the metrics tell a hung-up client from a server fault by it.
CLIENT_CLOSED_REQUEST = 499


async def _client_disconnected(request: Request, exc: Exception) -> Response:
    """The client hung up before its body arrived: nothing was stored, nothing to log but
    the request line (the request observer writes it, with this status)."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)


ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: handle_api_error,
    HTTPException: _http_error,
    ClientDisconnect: _client_disconnected,
    **dict.fromkeys(SERVICE_ERRORS, handle_service_error),
    Exception: _internal_error,
}


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join([prefix, *parts] if prefix else parts) or "body"
