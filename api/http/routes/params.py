"""Parameters the endpoints share, query parameters taken from their models, and the
refusal of query parameters an endpoint does not declare."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from api.http.endpoint import Endpoint, Handler, Param
from api.http.errors import ApiError

LEAD_ID = Param(
    "lead_id",
    "path",
    "The lead's id (uuid5 of workspace and E.164 phone)",
    True,
    {"type": "string", "format": "uuid"},
)
IDEMPOTENCY = Param(
    "Idempotency-Key",
    "header",
    "Optional: a retried command with the same key is recorded once",
    False,
    {"type": "string", "minLength": 1, "maxLength": 200},
)
KAPSO_HEADERS = (
    Param("X-Webhook-Signature", "header", "hex HMAC-SHA256 of the raw body", True),
    Param("X-Webhook-Event", "header", "e.g. whatsapp.message.received"),
    Param("X-Webhook-Batch", "header", "'true' for a batched delivery"),
    Param("X-Idempotency-Key", "header", "Kapso's delivery id"),
)


def query_params(model: type[BaseModel]) -> tuple[Param, ...]:
    """OpenAPI query parameters from the model that validates them (one source of truth)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    params = []
    for name, prop in schema["properties"].items():
        prop = _inline(prop, defs)
        prop.pop("title", None)
        params.append(Param(name, "query", str(prop.pop("description", "")), False, prop))
    return tuple(params)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    # Parameters cannot point into the model's own $defs: copy the enums in place.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def known_query_only(handler: Handler, names: Iterable[str]) -> Handler:
    """`handler`, answering 400 `unknown_parameter` (naming it) for a query parameter not in
    `names`: a typo such as `?stauts=new` must not silently return every lead."""
    accepted = tuple(names)

    async def checked(request: Request) -> Response:
        for name in request.query_params:
            if name not in accepted:
                raise unknown_parameter(name, accepted)
        return await handler(request)

    return checked


def unknown_parameter(name: str, accepted: tuple[str, ...]) -> ApiError:
    close = difflib.get_close_matches(name, accepted, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    known = ", ".join(accepted) if accepted else "none"
    message = f"{name}: unknown query parameter (accepted: {known}){hint}"
    return ApiError(400, "unknown_parameter", message, name)


def with_known_query(endpoint: Endpoint) -> Endpoint:
    """A GET endpoint that refuses the query parameters it does not declare."""
    if endpoint.method != "GET":
        return endpoint
    names = [p.name for p in endpoint.params if p.where == "query"]
    return dataclasses.replace(
        endpoint,
        handler=known_query_only(endpoint.handler, names),
        errors=tuple(sorted({400, *endpoint.errors})),
    )
