"""Reading request bodies: bounded size, strict JSON."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from api.errors import ApiError, validation_error

MAX_JSON_DEPTH = 64
M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw bytes, refusing with 413 before reading more than `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_request", "invalid Content-Length", "Content-Length")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(
            400, "malformed_json", "the body is empty; a JSON object is expected", "body"
        )
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not valid UTF-8", "body") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"malformed JSON: {exc}", "body") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ApiError(400, "malformed_json", f"JSON nested deeper than {MAX_JSON_DEPTH}", "body")
    return value


def parse_model(raw: bytes, model: type[M]) -> M:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise ApiError(422, "validation_error", "body: a JSON object is expected", "body")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body exceeds {limit} bytes", "body")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a hostile body must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest
