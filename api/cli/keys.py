"""`leadledger keys …`: the master key that wraps every lead key (docs/security.md)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from api.cli.opening import open_service
from service_layer.key_rotation import MasterKeyError

app = typer.Typer(help="The master key wrapping the lead keys.", no_args_is_help=True)
out = Console()


@app.command("rotate-master")
def rotate_master() -> None:
    """Re-wrap every lead key under a new master key (events are untouched). With the key
    file, a fresh key replaces it; with LEADLEDGER_MASTER_KEY, give the new key in
    LEADLEDGER_NEW_MASTER_KEY, then switch LEADLEDGER_MASTER_KEY to it. Stop the other
    leadledger processes first."""
    try:
        service = open_service()  # an existing ledger only: a typo creates nothing
        try:
            rotation = service.rotate_master_key()
        finally:
            service.close()
    except MasterKeyError as exc:
        out.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    out.print(
        f"Re-wrapped {rotation.rewrapped} lead key(s): master key {rotation.old_key_id} "
        f"-> {rotation.new_key_id}."
    )
    if rotation.key_file is not None:
        out.print(f"The new key is in {rotation.key_file}: back it up (apart from the keys).")
    else:
        out.print(
            "[yellow]Now set LEADLEDGER_MASTER_KEY to the new key (LEADLEDGER_NEW_MASTER_KEY) "
            "for every leadledger process, and restart them.[/yellow]"
        )
