"""Bearer API keys: the key decides the workspace."""

from __future__ import annotations

from starlette.requests import Request

from api.http.errors import unauthorized
from service_layer.bootstrap import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def workspace_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    workspace = services_of(request).workspaces.for_api_key(key.strip())
    if workspace is None:
        raise unauthorized("unknown API key")
    request.state.workspace = workspace  # for the request log
    return workspace
