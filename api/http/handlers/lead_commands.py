"""Bot and human commands: Sarah's phase updates, status requests, releases and notes.

The API key's principal decides the source and actor of each (api/http/auth.py `speaker`).
Status, release and note commands answer with what the policy decided (the outcome and
why) and the lead after it: they wait until the views include the command, then read them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, speaker, workspace_of
from api.http.body import parse_model, read_body
from api.http.bounds import check_bounds
from api.http.errors import ApiError
from api.http.query_schemas import CommandResultOut, LeadOut, NoteOut, StatusChangeOut
from api.http.schemas import CommandOut, NoteCommand, ReleaseCommand, SarahState, StatusCommand
from domain.commands import AddNote, LeadCommand, ReleaseStatusHold, ReportSarahPhase, RequestStatus
from domain.envelope import Said
from domain.phone import InvalidPhoneError, normalise_phone
from domain.principal import Principal
from service_layer.command_outcome import CommandOutcome
from service_layer.service import LeadLedgerService

REPLAYED = {"Idempotent-Replayed": "true"}  # Stripe's header: this answer is the first one's
OnLead = Callable[[LeadLedgerService], Callable[..., CommandOutcome]]


async def sarah_state(request: Request) -> Response:
    workspace = workspace_of(request)
    sarah = speaker(request)
    service = service_of(request)
    update = parse_model(await read_body(request, service.settings.max_body_bytes), SarahState)
    check_bounds(update.extracted_data, "extracted_data")
    try:
        phone = normalise_phone(update.contact_phone, service.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise ApiError(422, "validation_error", str(exc), "contact_phone") from None
    command = ReportSarahPhase(
        phone,
        _said(request, sarah, update.occurred_at),
        chat_phase=update.state.value,
        extracted_data=update.extracted_data,
        lead_score=update.lead_score,
        lead_temperature=update.lead_temperature.value if update.lead_temperature else None,
        outcome=update.outcome,
    )
    recording = await run_in_threadpool(service.report_sarah_phase, workspace, command)
    fact = recording.facts[0]
    return JSONResponse(CommandOut(lead_id=fact.lead_id, fact=fact.fact).model_dump(mode="json"))


async def request_status(request: Request) -> Response:
    body = parse_model(await _body(request), StatusCommand)
    said = _said(
        request,
        speaker(request, source=body.source, actor=body.actor, on_behalf_of=body.on_behalf_of),
    )
    return await _on_lead(
        request,
        lambda service: service.request_status,
        lambda phone: RequestStatus(phone, said, status=body.status.value, reason=body.reason),
    )


async def release_status(request: Request) -> Response:
    body = parse_model(await _body(request), ReleaseCommand)
    said = _said(request, speaker(request, actor=body.actor, on_behalf_of=body.on_behalf_of))
    return await _on_lead(
        request,
        lambda service: service.release_status,
        lambda phone: ReleaseStatusHold(phone, said),
    )


async def add_note(request: Request) -> Response:
    body = parse_model(await _body(request), NoteCommand)
    author = speaker(
        request,
        source=body.source,
        actor=body.author,
        on_behalf_of=body.on_behalf_of,
        actor_field="author",
    )
    said = _said(request, author)
    return await _on_lead(
        request,
        lambda service: service.add_note,
        lambda phone: AddNote(phone, said, content=body.content),
    )


def lead_id_param(request: Request) -> UUID:
    try:
        return UUID(request.path_params["lead_id"])
    except ValueError:
        raise ApiError(422, "validation_error", "lead_id: not a UUID", "lead_id") from None


async def _body(request: Request) -> bytes:
    # Authorized before the handler ran (api/http/auth.py): nothing is read for a refusal.
    return await read_body(request, service_of(request).settings.max_body_bytes)


async def _on_lead(
    request: Request, intent: OnLead, build: Callable[[str], LeadCommand]
) -> Response:
    workspace = workspace_of(request)
    lead_id = lead_id_param(request)
    method = intent(service_of(request))
    outcome = await run_in_threadpool(method, workspace, lead_id, build, _idempotency_key(request))
    body = command_result_out(outcome).model_dump(mode="json", by_alias=True)
    return JSONResponse(body, headers=REPLAYED if outcome.replayed else None)


def command_result_out(outcome: CommandOutcome) -> CommandResultOut:
    change, note, lead = outcome.status_change, outcome.note, outcome.lead
    return CommandResultOut(
        lead_id=outcome.lead_id,
        fact=outcome.fact,
        appended=outcome.appended,
        position=outcome.position,
        outcome=outcome.outcome,
        outcome_reason=outcome.outcome_reason,
        status_change=None if change is None else StatusChangeOut.model_validate(change),
        note=None if note is None else NoteOut.model_validate(note),
        lead=None if lead is None else LeadOut.model_validate(lead),
    )


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= 200:
        # Never truncate: two distinct keys must never be taken for one retry.
        raise ApiError(
            422,
            "validation_error",
            "Idempotency-Key must be 1 to 200 characters",
            "Idempotency-Key",
        )
    return key


def _said(request: Request, principal: Principal, occurred_at: datetime | None = None) -> Said:
    return Said(
        principal.source,
        principal.actor,
        datetime.now(UTC),
        occurred_at,
        _idempotency_key(request),
        principal,
    )
