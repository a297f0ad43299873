"""Bot and human commands: Sarah's phase updates, status requests, releases and notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.ledger import LeadNotFoundError, Recording
from api.auth import services_of, workspace_of
from api.body import parse_model, read_body
from api.errors import ApiError, not_found
from api.schemas import CommandOut, NoteCommand, ReleaseCommand, SarahState, StatusCommand
from domain.commands import AddNote, LeadCommand, ReleaseStatusHold, ReportSarahPhase, RequestStatus
from domain.envelope import Said
from domain.phone import InvalidPhoneError, normalise_phone
from domain.values import Source


async def sarah_state(request: Request) -> Response:
    workspace = workspace_of(request)
    services = services_of(request)
    update = parse_model(await read_body(request, services.settings.max_body_bytes), SarahState)
    try:
        phone = normalise_phone(update.contact_phone, services.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise ApiError(422, "validation_error", str(exc), "contact_phone") from None
    command = ReportSarahPhase(
        phone, _said(request, Source.SARAH, "sarah-bot"), chat_phase=update.state.value,
        extracted_data=update.extracted_data, lead_score=update.lead_score,
        lead_temperature=update.lead_temperature.value if update.lead_temperature else None,
        outcome=update.outcome,
    )
    recording = await run_in_threadpool(services.ledger.record, workspace, [command])
    return _answer(recording)


async def request_status(request: Request) -> Response:
    body = parse_model(await _body(request), StatusCommand)
    return await _on_lead(request, lambda phone: RequestStatus(
        phone, _said(request, body.source, body.actor), status=body.status.value,
        reason=body.reason,
    ))


async def release_status(request: Request) -> Response:
    body = parse_model(await _body(request), ReleaseCommand)
    return await _on_lead(
        request, lambda phone: ReleaseStatusHold(phone, _said(request, Source.HUMAN, body.actor))
    )


async def add_note(request: Request) -> Response:
    body = parse_model(await _body(request), NoteCommand)
    return await _on_lead(request, lambda phone: AddNote(
        phone, _said(request, body.source, body.author), content=body.content
    ))


def lead_id_param(request: Request) -> UUID:
    try:
        return UUID(request.path_params["lead_id"])
    except ValueError:
        raise ApiError(422, "validation_error", "lead_id: not a UUID", "lead_id") from None


async def _body(request: Request) -> bytes:
    workspace_of(request)  # authenticate before reading anything
    return await read_body(request, services_of(request).settings.max_body_bytes)


async def _on_lead(request: Request, build: Callable[[str], LeadCommand]) -> Response:
    workspace = workspace_of(request)
    lead_id = lead_id_param(request)
    ledger = services_of(request).ledger
    try:
        recording = await run_in_threadpool(ledger.record_on_lead, workspace, lead_id, build)
    except LeadNotFoundError:
        raise not_found() from None
    return _answer(recording)


def _said(request: Request, source: str, actor: str) -> Said:
    key = request.headers.get("idempotency-key")
    return Said(source, actor, datetime.now(UTC), None, key[:200] if key else None)


def _answer(recording: Recording) -> Response:
    fact = recording.facts[0]
    return JSONResponse(CommandOut(lead_id=fact.lead_id, fact=fact.fact).model_dump(mode="json"))
