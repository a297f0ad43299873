"""`leadledger deliveries reingest`: translate kept raw deliveries again."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from api.cli.history import workspace_option
from api.cli.opening import open_service

app = typer.Typer(
    help="Raw deliveries the translators kept (docs/webhooks.md).", rich_markup_mode=None
)
out = Console()


@app.command("reingest")
def reingest_command(
    workspace: str | None = typer.Option(None, help="Only this workspace; default: all."),
    actor: str = typer.Option("cli", help="Who runs it (kept on each re-ingested delivery)."),
) -> None:
    """Translate every kept raw delivery again with today's translators: record what now
    translates (once: running it again appends nothing) and mark the delivery re-ingested."""
    service = open_service()
    try:
        name = None if workspace is None else workspace_option(service, workspace)
        report = service.reingest_deliveries(name, actor.strip() or "cli")
        out.print(
            f"Re-ingested {report.reingested} delivery(ies): {report.appended} new fact(s); "
            f"{report.still_unhandled} still untranslatable; {report.skipped} skipped "
            "(re-ingested before, erased, or routed to another workspace now)."
        )
        for problem in report.problems:
            out.print(f"[yellow]{escape(problem)}[/yellow]")
    finally:
        service.close()
