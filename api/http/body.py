"""Reading request bodies: bounded size, strict JSON."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from api.http.errors import ApiError, validation_error
from domain.json_numbers import NumberOutOfRangeError, finite_float, no_constant

MAX_JSON_DEPTH = 64
_SURROGATE = re.compile(r"[\ud800-\udfff]")
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
    out_of_range: list[_OutOfRange] = []

    def read_float(text: str) -> float | _OutOfRange:
        try:
            return finite_float(text)
        except NumberOutOfRangeError as exc:
            out_of_range.append(_OutOfRange(exc))
            return out_of_range[-1]

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=no_constant, parse_float=read_float)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not valid UTF-8", "body") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"malformed JSON: {exc}", "body") from None
    _check_tree(value)
    if out_of_range:
        raise _out_of_range(value)
    return value


def parse_model(raw: bytes, model: type[M]) -> M:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise ApiError(422, "validation_error", "body: a JSON object is expected", "body")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise validation_error(exc) from None


class _OutOfRange:
    """Where a number a double cannot hold (1e400) was: the parser cannot say which field
    it is in, so it leaves this in its place and `_out_of_range` finds it."""

    def __init__(self, error: NumberOutOfRangeError) -> None:
        self.error = error


def _out_of_range(value: Any) -> ApiError:
    """400 naming the field of the first out-of-range number (a walk with paths, done only
    for such a body, so well-formed bodies pay nothing for it)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _OutOfRange):
            field = path or "body"
            return ApiError(400, "malformed_json", f"{field}: {node.error}", field)
        if isinstance(node, dict | list):
            pairs = list(node.items() if isinstance(node, dict) else enumerate(node))
            # Reversed onto the stack: the first such number in the text is named.
            stack.extend((item, f"{path}.{key}" if path else str(key)) for key, item in pairs[::-1])
    raise AssertionError("an out-of-range number was parsed but is not in the tree")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body exceeds {limit} bytes", "body")


def _check_tree(value: Any) -> None:
    """Iteratively (a hostile body must not exhaust the stack): not nested deeper than
    MAX_JSON_DEPTH, and no text UTF-8 cannot hold: JSON escapes may spell lone UTF-16
    surrogates ("\\ud800"), which no store can encode."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(
                400, "malformed_json", f"JSON nested deeper than {MAX_JSON_DEPTH}", "body"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            _check_text(node)


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        raise ApiError(
            400, "malformed_json", "the body has a lone UTF-16 surrogate: not Unicode text", "body"
        )
