"""Bearer API keys: the key's principal decides the workspace, the source and the actor.

Every bearer route declares the permission it needs (api/http/routes/); `guarded` checks
it before the handler runs: no or unknown key → 401, a role without the permission → 403
naming both, so a handler only ever sees an authorized principal (docs/security.md).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.http.errors import ApiError, unauthorized
from domain.principal import NotOnBehalfError, Permission, Principal, Role
from service_layer.service import LeadLedgerService


def service_of(request: Request) -> LeadLedgerService:
    service: LeadLedgerService = request.app.state.service
    return service


async def authorize(request: Request, permission: Permission) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    principal = await run_in_threadpool(service_of(request).authenticate, key.strip())
    if principal is None:
        raise unauthorized("unknown, revoked or expired API key")
    request.state.workspace = principal.workspace  # for the request log
    request.state.key_id = principal.key_id
    request.state.principal = principal
    if not principal.may(permission):
        raise ApiError(
            403,
            "forbidden",
            f"role {principal.role.value!r} lacks permission {permission.value!r} "
            f"for {request.method} {request.url.path}",
            extra={"role": principal.role.value, "permission": permission.value},
        )
    return principal


def principal_of(request: Request) -> Principal:
    """The principal `authorize` admitted for this request."""
    principal: Principal = request.state.principal
    return principal


def workspace_of(request: Request) -> str:
    return principal_of(request).workspace


def speaker(
    request: Request,
    *,
    source: str | None = None,
    actor: str | None = None,
    on_behalf_of: str | None = None,
    actor_field: str = "actor",
) -> Principal:
    """Who this request speaks as. The body may repeat the key's source and actor (or leave
    them out); a body naming anyone else is refused with 403 and nothing is stored."""
    principal = principal_of(request)
    try:
        acting = principal.acting_for(on_behalf_of)
    except NotOnBehalfError as exc:
        if principal.role is Role.CONSOLE:
            raise ApiError(422, "validation_error", str(exc), "on_behalf_of") from None
        raise _mismatch(str(exc), "on_behalf_of") from None
    if source is not None and source != acting.source:
        raise _mismatch(f"source {source!r} is not this key's ({acting.source!r})", "source")
    if actor is not None and not acting.speaks_as(actor):
        said = f"{actor_field} {actor!r} is not this key's ({acting.actor!r})"
        raise _mismatch(said, actor_field)
    return acting


def _mismatch(message: str, field: str) -> ApiError:
    return ApiError(403, "principal_mismatch", f"{message}: the API key decides", field)
