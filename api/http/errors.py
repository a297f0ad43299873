"""Clear errors: a status code and a JSON body naming the field. Nothing is stored."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    fields = [_loc(prefix, e["loc"]) for e in exc.errors()]
    first = exc.errors()[0]
    return ApiError(422, "validation_error", f"{fields[0]}: {first['msg']}", fields[0])


def not_found(what: str = "lead") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def error_body(status: int, code: str, message: str, field: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.status, exc.code, exc.message, exc.field), exc.status, headers=exc.headers
    )


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join([prefix, *parts] if prefix else parts) or "body"
