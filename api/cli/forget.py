"""`leadledger forget <phone>`: erase a person's data (crypto-shredding, docs/erasure.md)."""

from __future__ import annotations

from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from api.cli.history import workspace_option
from api.cli.opening import open_service
from domain.phone import InvalidPhoneError, normalise_phone
from service_layer.errors import ErasureTargetNotFoundError
from service_layer.service import LeadLedgerService

out = Console()


def forget(
    phone: str = typer.Argument(
        ..., help="The person's phone (any spelling), or a lead id (re-applying an erasure)."
    ),
    actor: str = typer.Option(..., help="Who asks for the erasure (kept in the ledger)."),
    reason: str = typer.Option(..., help="Why, e.g. a request id (kept in clear)."),
    workspace: str | None = typer.Option(None, help="Needed when several workspaces exist."),
) -> None:
    """Erase the person's personal data: destroys the lead's key (irreversible)."""
    if not actor.strip() or not reason.strip():
        raise typer.BadParameter("--actor and --reason must not be empty")
    service = open_service()
    try:
        name = workspace_option(service, workspace)
        lead_id, e164 = _lead_of(service, name, phone)
        try:
            settled = service.erase_personal_data(
                name, lead_id, actor.strip(), reason.strip(), e164
            )
        except ErasureTargetNotFoundError:
            earlier = [] if e164 is None else service.erased_lead_ids(name, e164)
            if earlier:
                out.print(f"Already erased: {len(earlier)} lead(s) for this phone; nothing left.")
                return
            out.print(f"[red]No lead for {escape(phone)} in workspace {name}.[/red]")
            raise typer.Exit(1) from None
        erasure = settled.erasure
        verb = "Erased" if erasure.appended else "Already erased"
        out.print(
            f"{verb}: lead {erasure.lead_id} at {erasure.erased_at:%Y-%m-%d %H:%M:%S} by "
            f"{escape(erasure.erased_by)} ({escape(erasure.reason)}); "
            f"{erasure.deliveries_erased} unhandled delivery(ies) mentioning it shredded"
        )
        if not settled.views_settled:
            out.print("[yellow]The read models still have to catch up to blank it.[/yellow]")
    finally:
        service.close()


def _lead_of(service: LeadLedgerService, workspace: str, text: str) -> tuple[UUID, str | None]:
    """A lead id as given (e.g. from an erasure register, after restoring a backup), or the
    phone's current lead and the phone (to shred the deliveries mentioning it)."""
    try:
        return UUID(text), None
    except ValueError:
        pass
    try:
        e164 = normalise_phone(text, service.workspaces.default_region)
    except InvalidPhoneError as exc:
        raise typer.BadParameter(str(exc)) from None
    return service.current_lead_id(workspace, e164), e164


def forget_again() -> None:
    """Destroy again the key of every lead the ledger says was erased (after restoring an
    old backup of the keys)."""
    service = open_service()
    try:
        count = service.reapply_erasures()
        out.print(f"Re-applied {count} erasure(s) from the ledger.")
    finally:
        service.close()
