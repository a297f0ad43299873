"""The key's own workspace's API keys, for admin keys (docs/security.md): list, create,
revoke, rotate. A new key's secret is answered once and never stored; another workspace's
key is not found."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, workspace_of
from api.http.body import parse_model, read_body
from api.http.schemas import Text, _Strict
from domain.principal import Role
from service_layer.key_ring import IssuedKey, KeyInfo

MAX_GRACE = 30 * 24 * 3600


class KeyOut(BaseModel):
    id: str
    workspace: str
    role: str
    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="a rotated key's end of grace")
    replaced_by: str | None
    origin: str = Field(description="database, or config/env (change those in the file)")


class KeysOut(BaseModel):
    keys: list[KeyOut]


class IssuedKeyOut(BaseModel):
    key: str = Field(description="The secret, shown once: only its SHA-256 is stored")
    info: KeyOut


class KeyCreate(_Strict):
    role: Role
    name: Text


class KeyRotate(_Strict):
    grace_seconds: Annotated[int, Field(ge=0, le=MAX_GRACE)] = Field(
        3600, description="How long the old key keeps working"
    )


async def list_keys(request: Request) -> Response:
    workspace = workspace_of(request)
    keys = await run_in_threadpool(service_of(request).api_keys, workspace)
    return JSONResponse(KeysOut(keys=[_out(k) for k in keys]).model_dump(mode="json"))


async def create_key(request: Request) -> Response:
    body = parse_model(await _body(request), KeyCreate)
    service, workspace = service_of(request), workspace_of(request)
    issued = await run_in_threadpool(service.create_api_key, workspace, body.role.value, body.name)
    return _issued(issued)


async def revoke_key(request: Request) -> Response:
    await _body(request)  # nothing to say, but bounded like every body (413)
    key_id, workspace = request.path_params["key_id"], workspace_of(request)
    revoked = await run_in_threadpool(service_of(request).revoke_api_key, key_id, workspace)
    return JSONResponse(_out(revoked).model_dump(mode="json"))


async def rotate_key(request: Request) -> Response:
    body = parse_model(await _body(request) or b"{}", KeyRotate)
    key_id, workspace = request.path_params["key_id"], workspace_of(request)
    grace = timedelta(seconds=body.grace_seconds)
    issued = await run_in_threadpool(service_of(request).rotate_api_key, key_id, grace, workspace)
    return _issued(issued)


async def _body(request: Request) -> bytes:
    return await read_body(request, service_of(request).settings.max_body_bytes)


def _issued(issued: IssuedKey) -> Response:
    out = IssuedKeyOut(key=issued.secret, info=_out(issued.key))
    return JSONResponse(out.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _out(key: KeyInfo) -> KeyOut:
    return KeyOut.model_validate(vars(key))
