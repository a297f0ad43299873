"""`leadledger config check`: validate the configuration as the server would read it, and
show what it would run with (secrets masked). Exit 1 when anything must be fixed."""

from __future__ import annotations

import os
from importlib.metadata import version

import typer

from adapters.config import audit
from adapters.config.errors import ConfigError
from adapters.config.loading import load_settings
from adapters.config.policy_file import read_policy_file
from adapters.config.settings import Settings
from adapters.config.workspaces import Workspaces, load_workspaces
from service_layer.bootstrap import check_database

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True, rich_markup_mode=None)


@app.command("check")
def check_command() -> None:
    """Settings, workspaces file, policy, database, secrets and file modes; nothing created."""
    findings = audit.stray_variable_findings(os.environ)
    try:
        settings = load_settings()
        workspaces = load_workspaces(settings)
    except ConfigError as exc:
        _report([], [*findings, audit.Finding(True, str(exc))])
        return
    findings += _workspace_findings(settings, workspaces)
    findings += _policy_findings(settings)
    findings += _database_findings(settings)
    findings += audit.file_mode_findings(settings)
    _report(audit.settings_lines(settings, workspaces), findings)


def _workspace_findings(settings: Settings, workspaces: Workspaces) -> list[audit.Finding]:
    if not workspaces.by_name and not settings.config_file.exists():
        return [
            audit.Finding(
                False,
                f"no workspace yet: the first `leadledger serve` creates {settings.config_file}",
            )
        ]
    return audit.workspace_findings(workspaces, settings)


def _policy_findings(settings: Settings) -> list[audit.Finding]:
    if settings.policy_file is None:
        return []
    try:
        read_policy_file(settings.policy_file)
    except ConfigError as exc:
        return [audit.Finding(True, str(exc))]
    return []


def _database_findings(settings: Settings) -> list[audit.Finding]:
    try:
        check_database(settings, ledger_must_exist=False)
    except ConfigError as exc:
        return [audit.Finding(True, str(exc))]
    try:
        check_database(settings, ledger_must_exist=True)
    except ConfigError as exc:
        return [audit.Finding(False, str(exc))]  # a new installation: serve creates it
    return []


def _report(lines: list[tuple[str, str]], findings: list[audit.Finding]) -> None:
    typer.echo(f"leadledger {version('leadledger')} would run with:")
    width = max((len(label) for label, _ in lines), default=0)
    for label, value in lines:
        typer.echo(f"  {label + ':':<{width + 1}} {value}")
    for finding in findings:
        typer.echo(f"{'problem' if finding.problem else 'warning'}: {finding.text}")
    problems = sum(finding.problem for finding in findings)
    if problems:
        typer.echo(f"{problems} problem(s): leadledger would not run as intended.", err=True)
        raise typer.Exit(1)
    typer.echo("OK")
