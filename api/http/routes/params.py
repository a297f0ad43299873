"""Parameters the endpoints share, and query parameters taken from their models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.http.endpoint import Param

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
