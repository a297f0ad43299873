"""`leadledger changes [--follow]`: the change feed as JSON lines (docs/changes.md)."""

from __future__ import annotations

import json
import sys
import time

import typer

from api.cli.history import workspace_option
from api.cli.opening import open_service
from domain.reducer.changes import VOCABULARY
from projections.feed_rows import BadCursorError, ChangeQuery, Cursor

PAGE = 500


def changes(
    after: str = typer.Option("", help="Start after this change id (default: the beginning)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new changes."),
    types: str = typer.Option("", help=f"Comma-separated types: {', '.join(VOCABULARY)}."),
    lead_id: str | None = typer.Option(None, "--lead-id", help="Only this lead's changes."),
    workspace: str | None = typer.Option(None, help="Needed when several workspaces exist."),
) -> None:
    """Print the workspace's changes in ledger order, one JSON object a line."""
    try:
        cursor = Cursor.parse(after)
    except BadCursorError as exc:
        raise typer.BadParameter(str(exc), param_hint="--after") from None
    wanted = tuple(t.strip() for t in types.split(",") if t.strip())
    service = open_service()
    try:
        name = workspace_option(service, workspace)
        try:
            query = ChangeQuery(name, cursor, PAGE, wanted, lead_id)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--types") from None
        while True:
            if follow:
                service.catch_up_views()  # no server running: this process moves the views
            items = service.changes.page(query)
            for item in items:
                sys.stdout.write(json.dumps(item.public()) + "\n")
            sys.stdout.flush()
            if items:
                last = items[-1]
                query = ChangeQuery(name, Cursor(last.position, last.seq), PAGE, wanted, lead_id)
                continue
            if not follow:
                return
            time.sleep(service.change_settings.changes_poll)
    except KeyboardInterrupt:
        return
    finally:
        service.close()
