"""`leadledger leads`: the contact view, filtered and paged like GET /leads."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from api.cli.history import workspace_option
from api.cli.json_output import dumps, lead_json
from api.cli.opening import open_service
from domain.reducer import ContactView
from domain.values import ChatPhase, LeadStatus, Temperature
from projections.cursors import lead_after
from projections.queries import LeadQuery

out = Console()
MAX_SEARCH = 200  # as GET /leads's `q`


class Sort(StrEnum):
    LAST_MESSAGE_AT = "last_message_at"
    LEAD_SCORE = "lead_score"
    UPDATED_AT = "updated_at"


class Order(StrEnum):
    DESC = "desc"
    ASC = "asc"


def leads(
    status: list[LeadStatus] = typer.Option([], help="Repeat to allow several."),
    temperature: list[Temperature] = typer.Option([], help="Repeat to allow several."),
    chat_phase: list[ChatPhase] = typer.Option([], help="Sarah's phase; repeat for several."),
    q: str | None = typer.Option(
        None, "--q", "--search", help="Text in name, Sarah's name, phone, business, domisili."
    ),
    sort: Sort = typer.Option(Sort.LAST_MESSAGE_AT, help="Leads without the value come last."),
    order: Order = typer.Option(Order.DESC),
    limit: int = typer.Option(50, min=1, max=200, help="Leads per page."),
    cursor: str | None = typer.Option(None, help="`next_cursor` of the previous page."),
    json: bool = typer.Option(False, "--json", help="The GET /leads answer, as JSON."),
    workspace: str | None = typer.Option(None, help="Needed when several workspaces exist."),
) -> None:
    """List leads, newest message first (the same filters and pages as GET /leads)."""
    search = (q or "").strip()
    if "\x00" in search or len(search) > MAX_SEARCH:
        raise typer.BadParameter(f"--q: at most {MAX_SEARCH} characters, no NUL")
    descending = order is Order.DESC
    try:
        after = None if cursor is None else lead_after(cursor, sort.value, descending)
    except ValueError as exc:
        raise typer.BadParameter(f"--cursor: {exc}") from None
    query = LeadQuery(
        statuses=tuple(s.value for s in status),
        temperatures=tuple(t.value for t in temperature),
        chat_phases=tuple(c.value for c in chat_phase),
        q=search or None,
        sort=sort.value,
        descending=descending,
        limit=limit,
        after=after,
    )
    service = open_service()
    try:
        views, next_cursor = service.list_leads(workspace_option(service, workspace), query)
    finally:
        service.close()
    if json:
        page = {"leads": [lead_json(v) for v in views], "next_cursor": next_cursor}
        print(dumps({**page, "limit": limit}))
        return
    out.print(_table(views))
    if next_cursor is not None:
        out.print(f"more: --cursor {next_cursor}", soft_wrap=True)


def _table(views: list[ContactView]) -> Table:
    table = Table("name", "status", "phase", "temp", "score", "last message")
    # Ids and phones are for copying: whole on one line; the other columns give way.
    table.columns.insert(0, Column("lead", no_wrap=True, min_width=36))
    table.columns.insert(1, Column("phone", no_wrap=True, min_width=16))
    for view in views:
        table.add_row(
            str(view.lead_id),
            view.phone or ("(erased)" if view.erased_at else ""),
            escape(view.name or view.sarah_name or ""),
            view.lead_status or "",
            view.chat_phase or "",
            view.lead_temperature or "",
            "" if view.lead_score is None else str(view.lead_score),
            "" if view.last_message_at is None else f"{view.last_message_at:%Y-%m-%d %H:%M}",
        )
    return table
