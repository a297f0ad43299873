"""The endpoints that manage API keys: admin keys, in their own workspace."""

from __future__ import annotations

from api.http.endpoint import Endpoint, Param
from api.http.handlers import keys
from domain.principal import Permission

KEY_ID = Param("key_id", "path", "The key's id (`GET /keys`)", True)
_SHOWN_ONCE = (
    "The new key is in this answer only (`key`): only its SHA-256 is stored. "
    "`leadledger keys` does the same on the server."
)

KEYS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/keys",
        keys.list_keys,
        "The workspace's API keys (never their secrets)",
        "keys",
        "bearer",
        permission=Permission.KEYS,
        response=keys.KeysOut,
        errors=(401,),
    ),
    Endpoint(
        "POST",
        "/keys",
        keys.create_key,
        "Create an API key for a principal (role and name) of the workspace",
        "keys",
        "bearer",
        permission=Permission.KEYS,
        request=keys.KeyCreate,
        response=keys.IssuedKeyOut,
        errors=(400, 401, 413, 422),
        description=_SHOWN_ONCE,
    ),
    Endpoint(
        "POST",
        "/keys/{key_id}/revoke",
        keys.revoke_key,
        "Revoke a key: every server refuses it within a second",
        "keys",
        "bearer",
        permission=Permission.KEYS,
        response=keys.KeyOut,
        errors=(401, 404, 422),
        params=(KEY_ID,),
        description="Keys declared in the workspaces file are changed there (422).",
    ),
    Endpoint(
        "POST",
        "/keys/{key_id}/rotate",
        keys.rotate_key,
        "A new key for the same principal; the old one works for `grace_seconds`",
        "keys",
        "bearer",
        permission=Permission.KEYS,
        request=keys.KeyRotate,
        response=keys.IssuedKeyOut,
        errors=(400, 401, 404, 413, 422),
        params=(KEY_ID,),
        description=_SHOWN_ONCE,
    ),
]
