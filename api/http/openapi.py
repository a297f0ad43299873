"""The OpenAPI 3.1 document, generated from the endpoint declarations and pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.http.endpoint import Endpoint
from api.http.schemas import ErrorOut

_REASONS = {
    400: "Malformed JSON or request",
    401: "Missing or invalid key or signature",
    403: "Verify token mismatch",
    404: "No such lead in this workspace",
    413: "Body over the size limit",
    422: "Validation failed (the field is named)",
    503: "Database unavailable; retry later",
}
_FORBIDDEN = (
    "The key's role lacks this route's permission (the body names `role` and `permission`), "
    "or the body's source, actor or on_behalf_of is not the key's (nothing is stored)"
)
_HEADERS = {
    401: ("WWW-Authenticate", "The authentication scheme (Bearer; not on signed webhooks)"),
    503: ("Retry-After", "Seconds to wait before retrying"),
}
# Probes that answer 503 with their usual body (saying what failed), not with an error.
_OWN_BODY_WHEN_UNAVAILABLE = frozenset({("GET", "/readyz")})
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearer": []}],
    "kapso_signature": [{"kapso_signature": []}],
    "meta_signature": [{"meta_signature": []}],
    "none": [],
}


def openapi_document(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
    _ref(ErrorOut, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "leadledger",
            "version": version,
            "description": "Event-sourced lead ledger for WhatsApp sales teams.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key (`llk_…`): its principal decides the workspace, "
                    "role, source and actor (docs/security.md)",
                },
                "kapso_signature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Webhook-Signature",
                },
                "meta_signature": {"type": "apiKey", "in": "header", "name": "X-Hub-Signature-256"},
            },
        },
    }


def _operation(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}",
        "security": _SECURITY[endpoint.auth],
        "parameters": [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": p.schema,
            }
            for p in endpoint.params
        ],
        "responses": {"200": _success(endpoint, schemas)},
    }
    description = endpoint.description
    if endpoint.permission is not None:
        roles = ", ".join(f"`{r.value}`" for r in endpoint.roles())
        needs = f"Permission: `{endpoint.permission.value}` (roles: {roles})."
        description = f"{description}\n\n{needs}" if description else needs
        op["x-permission"] = endpoint.permission.value
        op["x-roles"] = [r.value for r in endpoint.roles()]
    if description:
        op["description"] = description
    if endpoint.request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _ref(endpoint.request, schemas, "validation")}
            },
        }
    elif endpoint.method == "POST":
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if endpoint.accepted:
        op["responses"]["202"] = {**_success(endpoint, schemas), "description": endpoint.accepted}
    # A bearer route: a key whose role lacks the permission, or a body naming another actor.
    forbidden = (403,) if endpoint.permission is not None and 403 not in endpoint.errors else ()
    for status in sorted({*endpoint.errors, *forbidden, 503}):
        op["responses"][str(status)] = _error(status, endpoint)
    if (endpoint.method, endpoint.path) in _OWN_BODY_WHEN_UNAVAILABLE:
        not_ready = {**_success(endpoint, schemas), "description": "Not ready"}
        op["responses"]["503"] = _with_headers(503, not_ready)
    return op


def _error(status: int, endpoint: Endpoint) -> dict[str, Any]:
    reason = _REASONS.get(status, "Error")
    if status == 403 and endpoint.auth == "bearer":
        reason = _FORBIDDEN
    response: dict[str, Any] = {
        "description": reason,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    if status == 401 and endpoint.auth != "bearer":
        return response  # a signed webhook: no scheme to challenge with
    return _with_headers(status, response)


def _with_headers(status: int, response: dict[str, Any]) -> dict[str, Any]:
    if status in _HEADERS:
        name, description = _HEADERS[status]
        response["headers"] = {
            name: {"description": description, "required": True, "schema": {"type": "string"}}
        }
    return response


def _success(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    if endpoint.response is None:
        return {
            "description": "OK",
            "content": {endpoint.response_media: {"schema": {"type": "string"}}},
        }
    return {
        "description": "OK",
        "content": {endpoint.response_media: {"schema": _ref(endpoint.response, schemas)}},
    }


def _ref(
    model: type[BaseModel], schemas: dict[str, Any], mode: str = "serialization"
) -> dict[str, Any]:
    schema = model.model_json_schema(
        ref_template="#/components/schemas/{model}",
        mode="validation" if mode == "validation" else "serialization",
    )
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
