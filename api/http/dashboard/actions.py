"""The lead page's actions — set a status with a reason, release a hold, add a note —
through the application service, recorded as the signed-in person (source `human`, actor
their sign-in name; see acting.py). A fetch gets JSON with the policy's decision and the
page refreshes itself from the live updates; a plain form post is redirected back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.http.auth import service_of
from api.http.dashboard.acting import Acting
from api.http.dashboard.forms import RefusedError, read_form, require_acting, wants_json
from api.http.schemas import NoteCommand, StatusCommand
from domain.commands import AddNote, LeadCommand, ReleaseStatusHold, RequestStatus
from domain.envelope import Said
from domain.principal import Permission
from service_layer.command_outcome import CommandOutcome
from service_layer.errors import LeadNotFoundError
from service_layer.service import BuildCommand, LeadLedgerService

Intent = Callable[
    [LeadLedgerService], Callable[[str, UUID, BuildCommand, str | None], CommandOutcome]
]


async def set_status(request: Request) -> Response:
    acting, form = _allowed(request, Permission.STATUS), await read_form(request)
    try:
        body = StatusCommand.model_validate(
            {"status": form.get("status", ""), "reason": form.get("reason") or None,
             "source": acting.source, "actor": acting.actor},
            strict=False,
        )  # fmt: skip
    except ValidationError as exc:
        return _refused(request, _first_problem(exc))
    return await _act(
        request,
        acting,
        lambda s: s.request_status,
        lambda phone: RequestStatus(
            phone, _said(acting), status=body.status.value, reason=body.reason
        ),
    )


async def release_hold(request: Request) -> Response:
    acting = _allowed(request, Permission.RELEASE)
    await read_form(request)
    return await _act(
        request, acting, lambda s: s.release_status, lambda p: ReleaseStatusHold(p, _said(acting))
    )


async def add_note(request: Request) -> Response:
    acting, form = _allowed(request, Permission.NOTES), await read_form(request)
    try:
        body = NoteCommand.model_validate(
            {"content": form.get("content", ""), "source": acting.source, "author": acting.actor},
            strict=False,
        )
    except ValidationError as exc:
        return _refused(request, _first_problem(exc))
    return await _act(
        request,
        acting,
        lambda s: s.add_note,
        lambda p: AddNote(p, _said(acting), content=body.content),
    )


async def _act(
    request: Request, acting: Acting, intent: Intent, build: Callable[[str], LeadCommand]
) -> Response:
    try:
        lead_id = UUID(request.path_params["lead_id"])
    except ValueError:
        return _refused(request, "lead_id: not a UUID")
    method = intent(service_of(request))
    try:
        outcome = await run_in_threadpool(method, acting.workspace, lead_id, build, None)
    except LeadNotFoundError:
        return _refused(request, "no such lead", 404)
    if wants_json(request):
        return JSONResponse(
            {
                "appended": outcome.appended,
                "outcome": outcome.outcome,
                "outcome_reason": outcome.outcome_reason,
            }
        )
    return RedirectResponse(f"/ui/leads/{lead_id}", status_code=303)


def _allowed(request: Request, permission: Permission) -> Acting:
    """The signed-in principal, if its role has the permission (403 otherwise, as the API)."""
    acting = require_acting(request)
    if not acting.may(permission):
        problem = f"role {acting.role.value!r} lacks permission {permission.value!r}"
        raise RefusedError(JSONResponse({"error": problem}, status_code=403))
    return acting


def _said(acting: Acting) -> Said:
    return Said(acting.source, acting.actor, datetime.now(UTC), None, None, acting)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def _refused(request: Request, problem: str, status: int = 422) -> Response:
    return JSONResponse({"error": problem}, status_code=status)
