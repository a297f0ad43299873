"""The `leadledger` command line."""

from __future__ import annotations

import os

import typer
import uvicorn
from rich.console import Console

from adapters.config.first_run import create_local_config
from adapters.config.settings import Settings
from adapters.config.workspaces import load_workspaces
from api.cli import backup, deliveries, forget, history, imports, leads, projections, simulate
from api.logging_setup import log_config

app = typer.Typer(
    help="leadledger: an event-sourced lead ledger for WhatsApp sales teams.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)  # secrets must not wrap mid-value
app.add_typer(projections.app, name="projections")
app.add_typer(deliveries.app, name="deliveries")
app.command("leads")(leads.leads)
app.command("history")(history.history)
app.command("forget")(forget.forget)
app.command("forget-again")(forget.forget_again)
app.command("simulate")(simulate.simulate)
app.command("import")(imports.import_legacy)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore_backup)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
) -> None:
    """Start the HTTP server (uvicorn). Creates a local config on first run."""
    settings = Settings()
    if not load_workspaces(settings).by_name:
        _first_run(settings, host, port)
    uvicorn.run(
        "api.http.asgi:build",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,  # the request middleware logs each request as JSON
        timeout_graceful_shutdown=20,
    )


def _first_run(settings: Settings, host: str, port: int) -> None:
    created = create_local_config(settings.config_file)
    console.print(f"[bold]No workspace configured: created {created.path.resolve()}[/bold]")
    console.print(f"  workspace:              {created.workspace}")
    console.print(f"  API key (shown once):   {created.api_key}")
    console.print(f"  Kapso webhook secret:   {created.kapso_webhook_secret}")
    console.print(f"  Meta app secret:        {created.meta_app_secret}")
    console.print(f"  Meta verify token:      {created.meta_verify_token}")
    console.print("Only the API key's SHA-256 is stored; keep the key now.")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a comparison)
    console.print(
        f"[bold]Dashboard: http://{shown}:{port}/ui/[/bold] — sign in with the API key above "
        "and your name (docs/dashboard.md)."
    )
    os.environ.setdefault("LEADLEDGER_CONFIG_FILE", str(created.path))


def main() -> None:
    app()
