"""`leadledger keys`: API keys (create, list, revoke, rotate), webhook signing secrets and
the master key that wraps every lead key (rotate-master; docs/security.md).

A running server sees a key change within a second, no restart (service_layer/key_ring.py);
it re-reads the workspaces file when a webhook secret is added or retired
(service_layer/live_config.py). Secrets are printed once, on stdout; never stored in clear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.config.loading import load_settings
from adapters.config.secret_rotation import SECRET_LISTS, add_secret, retire_secret
from adapters.config.workspaces import ConfigError
from api.cli.opening import open_service
from service_layer.key_ring import ApiKeyError, IssuedKey, KeyInfo
from service_layer.key_rotation import MasterKeyError
from service_layer.service import LeadLedgerService

T = TypeVar("T")

app = typer.Typer(help="API keys and webhook signing secrets.", no_args_is_help=True)
secrets_app = typer.Typer(help="Webhook signing secrets of a workspace.", no_args_is_help=True)
app.add_typer(secrets_app, name="webhook-secret")
err = Console(stderr=True, soft_wrap=True)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@app.command()
def create(
    workspace: str = typer.Option(..., help="The key's workspace."),
    role: str = typer.Option(..., help="admin, human, console, brain, sarah, import or reader."),
    name: str = typer.Option(..., help="The actor recorded (a person, a bot, a console)."),
) -> None:
    """Create a key; it is printed once (stdout), only its SHA-256 is stored."""
    _print_issued(_run(lambda s: s.create_api_key(workspace, role, name)))


@app.command("list")
def list_keys(
    workspace: str | None = typer.Option(None, help="Only this workspace's keys."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List keys (never their secrets): id, role, name, created, last used, revoked."""
    keys = _run(lambda s: s.api_keys(workspace))
    now = datetime.now(UTC)
    if as_json:
        for key in keys:
            typer.echo(json.dumps({**_plain(key), "state": key.state(now)}))
        return
    table = Table("id", "workspace", "role", "name", "created", "last used", "state", "origin")
    for key in keys:
        ends = f" until {_time(key.expires_at)}" if key.state(now) == "grace" else ""
        table.add_row(
            key.id,
            escape(key.workspace),
            key.role,
            escape(key.name),
            _time(key.created_at),
            _time(key.last_used_at),
            key.state(now) + ends,
            key.origin,
        )
    shown = Console()
    # Piped or captured: ids must print whole (a terminal keeps its own width).
    (shown if shown.is_terminal else Console(width=200)).print(table)


@app.command()
def revoke(key_id: str = typer.Argument(..., help="The key's id (keys list).")) -> None:
    """Revoke a key: refused by every running server within a second."""
    key = _run(lambda s: s.revoke_api_key(key_id))
    err.print(f"Revoked {key.id} ({key.role} {escape(key.name)}) at {_time(key.revoked_at)}.")


@app.command()
def rotate(
    key_id: str = typer.Argument(..., help="The key's id (keys list)."),
    grace: str = typer.Option("1h", help="How long the old key keeps working: 30s, 15m, 1h, 2d."),
) -> None:
    """A new key for the same principal (printed once); the old one works for --grace."""
    period = parse_duration(grace)
    issued = _run(lambda s: s.rotate_api_key(key_id, period))
    err.print(f"{key_id} stays valid for {grace}, then is refused.")
    _print_issued(issued)


@secrets_app.command("add")
def add_webhook_secret(
    workspace: str = typer.Option(..., help="The workspace."),
    kind: str = typer.Option(..., help=", ".join(SECRET_LISTS)),
    secret: str | None = typer.Option(None, help="The secret (default: a new random one)."),
) -> None:
    """Add a signing secret (both old and new verify until the old one is retired)."""
    try:
        change = add_secret(load_settings().config_file, workspace, kind, secret)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    err.print(f"Added a {kind} secret to {workspace} ({change.remaining} now valid).")
    typer.echo(change.secret)


@secrets_app.command("retire")
def retire_webhook_secret(
    workspace: str = typer.Option(..., help="The workspace."),
    kind: str = typer.Option(..., help=", ".join(SECRET_LISTS)),
    secret: str = typer.Option(..., help="The secret to retire."),
) -> None:
    """Retire a signing secret (the last one of a kind cannot be retired)."""
    try:
        change = retire_secret(load_settings().config_file, workspace, kind, secret)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    err.print(f"Retired a {kind} secret of {workspace} ({change.remaining} still valid).")


@app.command("rotate-master")
def rotate_master() -> None:
    """Re-wrap every lead key under a new master key (events are untouched). With the key
    file, a fresh key replaces it; with LEADLEDGER_MASTER_KEY, give the new key in
    LEADLEDGER_NEW_MASTER_KEY, then switch LEADLEDGER_MASTER_KEY to it. Stop the other
    leadledger processes first."""
    try:
        rotation = _run(lambda s: s.rotate_master_key())
    except MasterKeyError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    out = Console()
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


def parse_duration(text: str) -> timedelta:
    found = _DURATION.match(text.strip())
    if found is None:
        raise typer.BadParameter(f"{text!r}: a duration like 30s, 15m, 1h or 2d")
    return timedelta(seconds=float(found[1]) * _UNITS[found[2]])


def _run(call: Callable[[LeadLedgerService], T]) -> T:
    service = open_service()  # an existing ledger only: a typo creates nothing
    try:
        return call(service)
    except ApiKeyError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        service.close()


def _print_issued(issued: IssuedKey) -> None:
    key = issued.key
    err.print(
        f"Created {key.id}: {key.role} {escape(key.name)} in {escape(key.workspace)}. "
        "The key is shown once; only its SHA-256 is stored:"
    )
    typer.echo(issued.secret)


def _plain(key: KeyInfo) -> dict[str, object]:
    return {k: _time(v) if isinstance(v, datetime) else v for k, v in vars(key).items()}


def _time(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")
