"""`leadledger backup <dir>` and `leadledger restore <dir>` (docs/operations.md "Backups")."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from adapters.config.loading import load_settings
from service_layer.backup import BackupError, back_up, restore

out = Console(soft_wrap=True)  # paths and messages stay whole (scripts grep them)


def backup(
    directory: Path = typer.Argument(..., help="A new (or empty) directory for the copy."),
) -> None:
    """Copy the ledger, the keys, the views and the workspaces file while the server runs
    (SQLite: the online backup API; PostgreSQL: pg_dump)."""
    try:
        manifest = back_up(load_settings(), directory)
    except BackupError as exc:
        out.print(f"[red]Backup refused: {escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    names = ", ".join(f"{f.name} ({f.role})" for f in manifest.files)
    out.print(
        f"Backed up to {escape(str(directory))} at {manifest.taken_at:%Y-%m-%d %H:%M:%S} "
        f"UTC: {escape(names)}"
    )
    out.print("It holds the lead keys: erasures made from now on are not in it (docs/erasure.md).")


def restore_backup(
    directory: Path = typer.Argument(..., help="A directory written by `leadledger backup`."),
) -> None:
    """Restore a backup into the configured, empty place; re-apply the erasures it records."""
    try:
        restored = restore(load_settings(restoring=True), directory)
    except BackupError as exc:
        out.print(f"[red]Restore refused: {escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    out.print(
        f"Restored the backup taken at {restored.manifest.taken_at:%Y-%m-%d %H:%M:%S} UTC: "
        f"ledger head {restored.ledger_head}, {restored.erasures_reapplied} erasure(s) "
        "re-applied."
    )
    out.print(
        "[yellow]Erasures made after the backup was taken are not in it: run `leadledger "
        "forget` again for each of them before serving.[/yellow]"
    )
