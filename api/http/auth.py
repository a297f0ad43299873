"""Bearer API keys: the key decides the workspace."""

from __future__ import annotations

from starlette.requests import Request

from api.http.errors import unauthorized
from service_layer.service import LeadLedgerService


def service_of(request: Request) -> LeadLedgerService:
    service: LeadLedgerService = request.app.state.service
    return service


def workspace_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    workspace = service_of(request).workspaces.for_api_key(key.strip())
    if workspace is None:
        raise unauthorized("unknown API key")
    request.state.workspace = workspace  # for the request log
    return workspace
