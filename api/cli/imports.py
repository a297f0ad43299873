"""`leadledger import contacts.jsonl [notes.jsonl]`: bring over the previous system's data."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.legacy_import.mapping import LegacyMapping, MappingError, mapping_from_files
from adapters.legacy_import.parallel import ImportJob, ImportWorkerError, run_parallel
from adapters.legacy_import.readers import format_of, read_file
from adapters.legacy_import.report import Summary, default_rejects_path
from api.cli.history import _workspace
from service_layer.bootstrap import Services, bootstrap

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
    services = bootstrap()
    try:
        legacy = _mapping(services, mapping)
        rejects_path = rejects or default_rejects_path(contacts)
        contact_lines = _lines(contacts)
        workers = _workers(jobs, contact_lines, services)
        with _progress() as progress:
            tasks = {
                "contacts": progress.add_task("contacts", total=contact_lines),
                "notes": progress.add_task("notes", total=_lines(notes) if notes else 0),
            }
            job = ImportJob(
                database_url=services.settings.database_url,
                workspace=_workspace(services, workspace),
                region=services.workspaces.default_region,
                mapping=legacy,
                contacts=contacts,
                contacts_format=format_of(contacts, file_format),
                notes=notes,
                notes_format=format_of(notes, file_format) if notes else "jsonl",
                received_at=datetime.now(UTC),
                rejects=rejects_path,
            )
            advance = lambda what, n: progress.advance(tasks[what], n)  # noqa: E731
            if workers > 1:
                summary = _parallel(job, workers, advance)
            else:
                summary = _in_process(services, job, advance)
        if update_views:
            with err.status("updating the read models"):
                services.views.catch_up()
        _print(summary, rejects_path, as_json)
    finally:
        services.close()


def _workers(jobs: int, contact_lines: int, services: Services) -> int:
    if services.database.kind == "memory":
        return 1  # an in-memory ledger lives in this process only
    if jobs:
        return jobs
    return min(os.cpu_count() or 1, MAX_AUTO_JOBS) if contact_lines >= PARALLEL_FROM_ROWS else 1


def _in_process(services: Services, job: ImportJob, advance: Callable[[str, int], None]) -> Summary:
    with job.rejects.open("w", encoding="utf-8") as rejects_out:
        importer = job.importer(services.ledger, rejects_out, lambda n: advance("contacts", n))
        note_rows = read_file(job.notes, job.notes_format) if job.notes else ()
        return importer.run(
            read_file(job.contacts, job.contacts_format),
            _counting(note_rows, lambda: advance("notes", 1)),
        )


def _parallel(job: ImportJob, workers: int, advance: Callable[[str, int], None]) -> Summary:
    try:
        return run_parallel(job, workers, advance)
    except ImportWorkerError as exc:
        err.print(f"[red]import stopped: {exc}[/red]")
        err.print("What was committed stays; run the same import again to finish it.")
        raise typer.Exit(1) from None


def _mapping(services: Services, given: Path | None) -> LegacyMapping:
    try:
        return mapping_from_files(given, services.settings.config_file)
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


def _counting(rows: Iterable[T], tick: Callable[[], None]) -> Iterator[T]:
    for row in rows:
        yield row
        tick()


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
