"""`leadledger import contacts.jsonl [notes.jsonl]`: bring over the previous system's data."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.config.loading import load_settings
from adapters.legacy_import.mapping import LegacyMapping, MappingError, mapping_from_files
from adapters.legacy_import.readers import format_of
from adapters.legacy_import.report import Summary, default_rejects_path
from api.cli.history import workspace_option
from service_layer.bootstrap import bootstrap
from service_layer.parallel_import import ImportJob, ImportWorkerError
from service_layer.service import LeadLedgerService

out = Console()
err = Console(stderr=True)
T = TypeVar("T")
PARALLEL_FROM_ROWS = 20_000  # below this, starting worker processes costs more than it saves
MAX_AUTO_JOBS = 4


def import_legacy(
    contacts: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The contacts export (.jsonl or .csv)."
    ),
    notes: Path | None = typer.Argument(
        None, exists=True, dir_okay=False, help="The contactNotes export (.jsonl or .csv)."
    ),
    workspace: str | None = typer.Option(None, help="Needed when several workspaces exist."),
    mapping: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="TOML file with a [legacy_status] table."
    ),
    new_ledger: bool = typer.Option(
        False,
        "--new-ledger",
        help="Start a new ledger when none exists yet (an import before the first serve).",
    ),
    rejects: Path | None = typer.Option(
        None, help="Where rejected rows go (default: <contacts>.rejects.jsonl)."
    ),
    file_format: str | None = typer.Option(
        None, "--format", help="jsonl or csv (default: by file extension)."
    ),
    update_views: bool = typer.Option(
        False, "--update-views", help="Bring the read models up to date before exiting."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    jobs: int = typer.Option(
        0,
        "--jobs",
        min=0,
        help="Worker processes (0: one per CPU, up to 4, for files of 20,000 rows or more).",
    ),
) -> None:
    """Import contacts and notes; re-running adds nothing, changed rows add only changes."""
    if file_format not in (None, "jsonl", "csv"):
        raise typer.BadParameter("--format must be jsonl or csv")
    settings = load_settings()
    legacy = _mapping(mapping, settings.config_file)  # refused before the ledger is opened
    service = bootstrap(settings, create_ledger=new_ledger).service
    try:
        rejects_path = rejects or default_rejects_path(contacts)
        contact_lines = _lines(contacts)
        workers = _workers(jobs, contact_lines, service)
        with _progress() as progress:
            tasks = {
                "contacts": progress.add_task("contacts", total=contact_lines),
                "notes": progress.add_task("notes", total=_lines(notes) if notes else 0),
            }
            job = ImportJob(
                database_url=service.settings.database_url,
                workspace=workspace_option(service, workspace),
                region=service.workspaces.default_region,
                mapping=legacy,
                contacts=contacts,
                contacts_format=format_of(contacts, file_format),
                notes=notes,
                notes_format=format_of(notes, file_format) if notes else "jsonl",
                received_at=datetime.now(UTC),
                rejects=rejects_path,
            )
            advance = lambda what, n: progress.advance(tasks[what], n)  # noqa: E731
            try:
                summary = service.import_legacy_files(job, workers, advance)
            except ImportWorkerError as exc:
                err.print(f"[red]import stopped: {exc}[/red]")
                err.print("What was committed stays; run the same import again to finish it.")
                raise typer.Exit(1) from None
        if update_views:
            with err.status("updating the read models"):
                service.catch_up_views()
        _print(summary, rejects_path, as_json)
    finally:
        service.close()


def _workers(jobs: int, contact_lines: int, service: LeadLedgerService) -> int:
    if service.database_kind == "memory":
        return 1  # an in-memory ledger lives in this process only
    if jobs:
        return jobs
    return min(os.cpu_count() or 1, MAX_AUTO_JOBS) if contact_lines >= PARALLEL_FROM_ROWS else 1


def _mapping(given: Path | None, config_file: Path) -> LegacyMapping:
    try:
        return mapping_from_files(given, config_file)
    except MappingError as exc:
        raise typer.BadParameter(str(exc)) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _lines(path: Path) -> int:
    """Rows to expect (physical lines; CSV quoting or blank lines make it approximate)."""
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _print(summary: Summary, rejects_path: Path, as_json: bool) -> None:
    data = summary.as_json()
    if as_json:
        typer.echo(json.dumps({**data, "rejects_file": str(rejects_path)}))
        return
    c, n, r = data["contacts"], data["notes"], data["rejected"]
    out.print(
        f"contacts: {c['imported']} imported, {c['unchanged']} unchanged of {c['read']} read; "
        f"notes: {n['imported']} imported, {n['unchanged']} unchanged of {n['read']} read"
    )
    out.print(f"leads created: {data['leads_created']}; events appended: {data['events_appended']}")
    if r["total"]:
        reasons = ", ".join(f"{k} {v}" for k, v in r["by_reason"].items())
        out.print(f"[yellow]rejected: {r['total']} ({reasons}); see {rejects_path}[/yellow]")
    else:
        out.print("rejected: 0")
