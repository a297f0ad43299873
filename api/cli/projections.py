"""`leadledger projections rebuild|status|verify`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from adapters.config.policy_file import read_policy_file
from api.cli.opening import open_service
from api.heap import settle_for_serving
from api.rebuild_gauge import RebuildGauge

app = typer.Typer(
    help="Rebuild, inspect and verify the read models.", no_args_is_help=True, rich_markup_mode=None
)
out = Console()


@app.command("rebuild")
def rebuild_command(
    policy: Path | None = typer.Option(
        None, help="Source-priority policy file (TOML); default: the active policy."
    ),
    page_size: int = typer.Option(5000, min=100, help="Events per transaction."),
    workers: int = typer.Option(
        0,
        min=0,
        max=64,
        help="Processes folding a large ledger side by side, split by lead id "
        "(0: one per CPU, at most 2).",
    ),
) -> None:
    """Replay the whole ledger into fresh tables, then switch readers to them atomically."""
    given = None if policy is None else read_policy_file(policy)  # before touching anything
    service = open_service()
    try:
        text = given if given is not None else service.active_policy_text()
        with _bar("rebuilding") as report:
            progress = RebuildGauge(then=report, textfile=service.settings.metrics_textfile)
            result = service.rebuild_views(
                text, progress, page_size, workers or min(2, os.cpu_count() or 1)
            )
        verb = "resumed and finished" if result.resumed else "finished"
        out.print(
            f"Rebuild {verb}: generation {result.generation} is live "
            f"(was {result.previous_generation}); ledger position {result.position}, "
            f"{result.events_read} positions replayed in {result.seconds:.1f} s."
        )
    finally:
        service.close()


@app.command("status")
def status_command() -> None:
    """Each projection's position, the ledger head and the lag."""
    service = open_service()
    try:
        s = service.views_status()
        table = Table(
            "projection", "generation", "position", "ledger head", "lag", "failed events", "policy"
        )
        table.add_row(
            "lead_views",
            str(s.generation),
            str(s.position),
            str(s.head),
            str(s.lag),
            str(s.failures),
            s.policy,
        )
        if s.building_generation is not None:
            table.add_row(
                "lead_views (rebuilding)",
                str(s.building_generation),
                str(s.building_position),
                str(s.head),
                str(s.head - (s.building_position or 0)),
                "-",
                "-",
            )
        out.print(table)
    finally:
        service.close()


@app.command("verify")
def verify_command(page_size: int = typer.Option(5000, min=100)) -> None:
    """Rebuild into a shadow and report every row that differs from the live view."""
    service = open_service()
    try:
        with _bar("verifying") as report:
            result = service.verify_views(report, page_size)
        if not result.differences:
            out.print(f"OK: {result.rows_compared} rows identical at position {result.position}.")
            return
        table = Table("table", "key", "column", "live", "rebuilt")
        for d in result.differences:
            table.add_row(d.table, d.key, d.column, repr(d.live)[:60], repr(d.rebuilt)[:60])
        out.print(table)
        out.print(
            f"[red]{len(result.differences)} difference(s)[/red] at position {result.position}."
        )
        raise typer.Exit(1)
    finally:
        service.close()


@app.command("follow")
def follow_command() -> None:
    """Run a projection worker: keep the read models live until interrupted (Ctrl-C)."""
    service = open_service()
    settle_for_serving()  # a worker lives for days: its start-up heap is never garbage
    service.start_following()
    out.print(f"Following the ledger ({service.database_kind}); Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.close()


@contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; yields the callback long-running work reports to."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task(label, total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)
