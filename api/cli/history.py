"""`leadledger history <phone or lead id>`: a lead's timeline in the terminal."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli.json_output import compact, dumps, event_json
from api.cli.opening import open_service
from domain.phone import InvalidPhoneError, normalise_phone
from domain.reducer import LedgerEvent
from service_layer.errors import LeadNotFoundError
from service_layer.service import LeadLedgerService

out = Console()


def history(
    lead: str = typer.Argument(..., help="A phone number (any spelling) or a lead id."),
    workspace: str | None = typer.Option(None, help="Needed when several workspaces exist."),
    json: bool = typer.Option(
        False, "--json", help="The GET /leads/{id}/events answer, as JSON (ISO 8601 UTC times)."
    ),
) -> None:
    """Show every fact recorded on a lead, oldest first."""
    service = open_service()
    try:
        lead_id = _resolve(service, lead, workspace_option(service, workspace))
        if json:
            events = [event_json(event) for event in service.lead_history(lead_id)]
            print(dumps({"lead_id": lead_id, "events": events}))
            return
        table = Table("#", "recorded", "event", "source", "actor", "what was said")
        for event in service.lead_history(lead_id):
            table.add_row(
                str(event.position),
                event.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                event.type,
                str(event.data.get("source", "")),
                escape(str(event.data.get("actor", ""))),
                escape(summary(event)),
            )
        out.print(table)
    finally:
        service.close()


def summary(event: LedgerEvent) -> str:
    d: dict[str, Any] = dict(event.data)
    match event.type:
        case "Registered":
            return f"lead {d.get('phone') or '(erased)'} in workspace {d.get('workspace')}"
        case "InboundMessageReceived" | "OutboundMessageSent":
            return f"[{d.get('message_type')}] {d.get('text') or ''}"[:80]
        case "MessageStatusChanged":
            error = f" (error {d['error_code']})" if d.get("error_code") else ""
            return f"{d.get('status')}{error}"
        case "ConversationChanged":
            return f"conversation {d.get('change')}"
        case "ContactNameReported":
            return f"name: {d.get('name')}"
        case "SarahPhaseReported":
            return (
                f"phase {d.get('chat_phase')}, score {d.get('lead_score')}, "
                f"{d.get('lead_temperature')}, data {compact(d.get('extracted_data'))}"
            )[:120]
        case "StatusRequested":
            reason = f" because {d['reason']}" if d.get("reason") else ""
            return f"status -> {d.get('status')}{reason}"
        case "StatusHoldReleased":
            return "released the human status hold"
        case "NoteAdded":
            return str(d.get("content") or "")[:120]
        case "PersonalDataErased":
            return f"personal data erased: {d.get('reason')}"[:120]
        case "ContactImported":
            said = f"lead_status {compact(d.get('legacy_status'))}"
            return f"legacy {d.get('legacy_id')}: {said} {compact(d.get('changed'))}"[:120]
    return ""


def workspace_option(service: LeadLedgerService, name: str | None) -> str:
    names = sorted(service.workspaces.by_name)
    if name is not None:
        if name not in names:
            raise typer.BadParameter(f"unknown workspace {name!r}; known: {', '.join(names)}")
        return name
    if not names:
        raise typer.BadParameter(
            "no workspace is configured: name the workspaces file with --config or "
            "LEADLEDGER_CONFIG_FILE (or set LEADLEDGER_API_KEYS)"
        )
    if len(names) != 1:
        raise typer.BadParameter(f"choose --workspace among: {', '.join(names)}")
    return names[0]


def _resolve(service: LeadLedgerService, text: str, workspace: str) -> UUID:
    try:
        lead_id = UUID(text)
    except ValueError:
        try:
            # The phone's current lead: an erased one is reachable by its id only.
            lead_id = service.current_lead_id(
                workspace, normalise_phone(text, service.workspaces.default_region)
            )
        except InvalidPhoneError as exc:
            raise typer.BadParameter(str(exc)) from None
    try:
        service.get_lead(workspace, lead_id)
    except LeadNotFoundError:
        out.print(f"[red]No lead {escape(text)} in workspace {escape(workspace)}.[/red]")
        raise typer.Exit(1) from None
    return lead_id
