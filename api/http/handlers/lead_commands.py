"""Bot and human commands: Sarah's phase updates, status requests, releases and notes.

Status, release and note commands answer with what the policy decided (the outcome and
why) and the lead after it: they wait until the views include the command, then read them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.eventstore.store import LedgerStore
from api.http.auth import services_of, workspace_of
from api.http.body import parse_model, read_body
from api.http.errors import ApiError, not_found
from api.http.query_schemas import CommandResultOut, LeadOut, NoteOut, StatusChangeOut
from api.http.schemas import CommandOut, NoteCommand, ReleaseCommand, SarahState, StatusCommand
from domain.commands import AddNote, LeadCommand, ReleaseStatusHold, ReportSarahPhase, RequestStatus
from domain.envelope import Said
from domain.phone import InvalidPhoneError, normalise_phone
from domain.reducer import ContactView, NoteEntry, StatusHistoryEntry
from domain.values import Source
from projections import queries
from projections.source import head
from projections.tables import ViewTables
from service_layer.bootstrap import Services
from service_layer.ledger import LeadNotFoundError, Recording

Kind = Literal["status", "release", "note"]


async def sarah_state(request: Request) -> Response:
    workspace = workspace_of(request)
    services = services_of(request)
    update = parse_model(await read_body(request, services.settings.max_body_bytes), SarahState)
    try:
        phone = normalise_phone(update.contact_phone, services.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise ApiError(422, "validation_error", str(exc), "contact_phone") from None
    command = ReportSarahPhase(
        phone,
        _said(request, Source.SARAH, "sarah-bot"),
        chat_phase=update.state.value,
        extracted_data=update.extracted_data,
        lead_score=update.lead_score,
        lead_temperature=update.lead_temperature.value if update.lead_temperature else None,
        outcome=update.outcome,
    )
    recording = await run_in_threadpool(services.ledger.record, workspace, [command])
    services.committed(recording.last_notification_id)
    return _answer(recording)


async def request_status(request: Request) -> Response:
    body = parse_model(await _body(request), StatusCommand)
    return await _on_lead(
        request,
        "status",
        lambda phone: RequestStatus(
            phone,
            _said(request, body.source, body.actor),
            status=body.status.value,
            reason=body.reason,
        ),
    )


async def release_status(request: Request) -> Response:
    body = parse_model(await _body(request), ReleaseCommand)
    return await _on_lead(
        request,
        "release",
        lambda phone: ReleaseStatusHold(phone, _said(request, Source.HUMAN, body.actor)),
    )


async def add_note(request: Request) -> Response:
    body = parse_model(await _body(request), NoteCommand)
    return await _on_lead(
        request,
        "note",
        lambda phone: AddNote(
            phone, _said(request, body.source, body.author), content=body.content
        ),
    )


def lead_id_param(request: Request) -> UUID:
    try:
        return UUID(request.path_params["lead_id"])
    except ValueError:
        raise ApiError(422, "validation_error", "lead_id: not a UUID", "lead_id") from None


async def _body(request: Request) -> bytes:
    workspace_of(request)  # authenticate before reading anything
    return await read_body(request, services_of(request).settings.max_body_bytes)


async def _on_lead(request: Request, kind: Kind, build: Callable[[str], LeadCommand]) -> Response:
    workspace = workspace_of(request)
    lead_id = lead_id_param(request)
    services = services_of(request)
    try:
        recording = await run_in_threadpool(
            services.ledger.record_on_lead, workspace, lead_id, build
        )
    except LeadNotFoundError:
        raise not_found() from None
    result = await run_in_threadpool(
        command_result, services, workspace, recording, kind, _idempotency_key(request)
    )
    return JSONResponse(result.model_dump(mode="json", by_alias=True))


def command_result(
    services: Services, workspace: str, recording: Recording, kind: Kind, key: str | None
) -> CommandResultOut:
    """Wait until the views include the command, then read its decision and the lead."""
    fact = recording.facts[0]
    nid = recording.last_notification_id
    services.committed(nid)
    # A retry that appended nothing: the original is somewhere before the head.
    services.views.wait_for(nid if nid is not None else head(services.store))
    position = _position(services.store, fact.lead_id, nid, key)

    def read(
        conn: Connection, t: ViewTables
    ) -> tuple[ContactView | None, StatusHistoryEntry | None, NoteEntry | None]:
        view = queries.get_view(conn, t, workspace, fact.lead_id)
        if view is None or position is None or view.version < position:
            return view, None, None
        changes = queries.status_history(conn, t, view, position) if kind == "status" else []
        notes = queries.notes(conn, t, view, position) if kind == "note" else []
        return view, changes[0] if changes else None, notes[0] if notes else None

    view, change, note = queries.read_views(services.engines.read, read)
    outcome, reason = None, None
    if change is not None:
        outcome, reason = change.outcome, change.outcome_reason
    elif note is not None:
        outcome, reason = "applied", "note_added"
    elif (
        kind == "release" and view is not None and position is not None and view.version >= position
    ):
        outcome, reason = "applied", "released"
    return CommandResultOut(
        lead_id=fact.lead_id,
        fact=fact.fact,
        appended=fact.appended,
        position=position,
        outcome=outcome,
        outcome_reason=reason,
        status_change=None if change is None else StatusChangeOut.model_validate(change),
        note=None if note is None else NoteOut.model_validate(note),
        lead=None if view is None else LeadOut.model_validate(view),
    )


def _position(store: LedgerStore, lead_id: UUID, nid: int | None, key: str | None) -> int | None:
    """The command's event position on the lead: the event just appended, or (a retry)
    the earlier event recorded with the same idempotency key."""
    if nid is not None:
        for notification in store.recorder.select_notifications(start=nid, limit=1):
            event = store.mapper.to_domain_event(notification)
            if event.originator_id == lead_id:
                return int(event.originator_version)
        return None
    if key is None:
        return None
    for event in store.events.get(lead_id, desc=True):
        if getattr(event, "idempotency_key", None) == key:
            return int(event.originator_version)
    return None


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


def _said(request: Request, source: str, actor: str) -> Said:
    return Said(source, actor, datetime.now(UTC), None, _idempotency_key(request))


def _answer(recording: Recording) -> Response:
    fact = recording.facts[0]
    return JSONResponse(CommandOut(lead_id=fact.lead_id, fact=fact.fact).model_dump(mode="json"))
