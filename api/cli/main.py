"""The `leadledger` command line.

Mistakes (a missing config or policy file, bad TOML, a bad environment value, a database
that is not there) end in one line on stderr and exit status 2; `--debug` shows the
traceback instead. Help texts are printed literally (no Rich markup), so `[legacy_status]`
stays readable."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from adapters.config.errors import ConfigError, OperatorError
from adapters.config.first_run import create_local_config
from adapters.config.loading import load_settings
from adapters.config.policy_file import read_policy_file
from adapters.config.settings import Settings
from adapters.config.workspaces import load_workspaces
from api.cli import (
    backup,
    config_check,
    deliveries,
    forget,
    history,
    imports,
    leads,
    projections,
    simulate,
)
from api.logging_setup import log_config
from service_layer.bootstrap import bootstrap, check_database, single_server

app = typer.Typer(
    help="leadledger: an event-sourced lead ledger for WhatsApp sales teams.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # main() decides: one line, or the plain traceback
)
console = Console(stderr=True, soft_wrap=True)  # secrets must not wrap mid-value
app.add_typer(projections.app, name="projections")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(config_check.app, name="config")
app.command("leads")(leads.leads)
app.command("history")(history.history)
app.command("forget")(forget.forget)
app.command("forget-again")(forget.forget_again)
app.command("simulate")(simulate.simulate)
app.command("import")(imports.import_legacy)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore_backup)


class _Options:
    debug = False


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"leadledger {version('leadledger')}")
        raise typer.Exit()


@app.callback()
def options(
    config: Path | None = typer.Option(
        None, "--config", help="The workspaces file (as LEADLEDGER_CONFIG_FILE); must exist."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one line."),
    show_version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    _Options.debug = debug
    if config is not None:
        # Through the environment, so uvicorn's worker processes read the same file.
        os.environ["LEADLEDGER_CONFIG_FILE"] = str(config)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes (PostgreSQL only)."),
) -> None:
    """Start the HTTP server (uvicorn). Creates a local config on first run."""
    # Every check before anything is created or a key (shown once) is printed.
    settings = load_settings()
    if settings.policy_file is not None:
        read_policy_file(settings.policy_file)
    first_run = not load_workspaces(settings).by_name
    if first_run and settings.config_file.exists():
        raise ConfigError(f"{settings.config_file} configures no workspace ([workspaces.NAME])")
    check_database(settings, ledger_must_exist=False)
    with single_server(settings, workers):
        if first_run:
            # The ledger and its tables exist before the key, shown once, is printed.
            bootstrap(settings).close()
            _first_run(settings)
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


def _first_run(settings: Settings) -> None:
    created = create_local_config(settings.config_file)
    console.print(
        f"[bold]No workspace configured: created {escape(str(created.path.resolve()))}[/bold]"
    )
    console.print(f"  workspace:              {created.workspace}")
    console.print(f"  API key (shown once):   {created.api_key}")
    console.print(f"  Kapso webhook secret:   {created.kapso_webhook_secret}")
    console.print(f"  Meta app secret:        {created.meta_app_secret}")
    console.print(f"  Meta verify token:      {created.meta_verify_token}")
    console.print("Only the API key's SHA-256 is stored; keep the key now.")
    os.environ.setdefault("LEADLEDGER_CONFIG_FILE", str(created.path))


def main() -> None:
    try:
        app()
    except OperatorError as exc:
        if _Options.debug:
            raise
        print(f"leadledger: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _Options.debug:
            raise
        first_line = next(iter(str(exc).strip().splitlines()), "")
        print(
            f"leadledger: unexpected {type(exc).__name__}: {first_line} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
