"""Workspace-scoped reads of the lead views: filtered keyset pages, a lead and its rows,
stats (the cursors of the pages: projections/cursors.py).

Every read resolves the active generation inside its own connection (a rebuild may swap
generations at any moment). Pages are keyset pages: the cursor holds the last row's sort
key plus its lead id, so ties never repeat or skip a row, and NULL sort values come last.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.exc import DBAPIError

from domain.reducer import ContactView, MessageEntry, NoteEntry, StatusHistoryEntry
from domain.reducer.identities import combined
from projections.rows import rows_of
from projections.search import like_pattern
from projections.state import read_state
from projections.tables import ViewTables, view_tables
from projections.writer import built, row_to_view, view_from_row

T = TypeVar("T")


def read_views(engine: Engine, read: Callable[[Connection, ViewTables], T]) -> T:
    """`read` on the active generation. If a rebuild swapped generations (and dropped the old
    tables) between resolving and reading, read once more on the new one."""
    with engine.connect() as conn:
        generation = read_state(conn).active_generation
        try:
            return read(conn, view_tables(generation))
        except DBAPIError:
            conn.rollback()
            current = read_state(conn).active_generation
            if current == generation:
                raise
            return read(conn, view_tables(current))


@dataclass(frozen=True)
class LeadQuery:
    statuses: tuple[str, ...] = ()
    temperatures: tuple[str, ...] = ()
    chat_phases: tuple[str, ...] = ()
    conversation_statuses: tuple[str, ...] = ()
    status_sources: tuple[str, ...] = ()
    score_min: int | None = None
    score_max: int | None = None
    updated_since: datetime | None = None
    updated_until: datetime | None = None
    last_message_since: datetime | None = None
    last_message_until: datetime | None = None
    q: str | None = None
    q_phone: str | None = None  # `q` as international phone digits, when it reads as one
    sort: str = "last_message_at"
    descending: bool = True
    limit: int = 50
    after: tuple[Any, str] | None = None  # (sort value, lead id) of the last lead seen


def list_leads(
    conn: Connection, t: ViewTables, workspace: str, query: LeadQuery
) -> tuple[list[ContactView], tuple[Any, str] | None]:
    """One page of leads, and the key to continue after it (None on the last page)."""
    c = t.contacts.c
    sort_col = c[query.sort]
    # A lead whose person's history another lead holds is shown as that lead only.
    where = [c.workspace == workspace, c.held_by.is_(None), *_filters(t, query)]
    if query.after is not None:
        where.append(_after(sort_col, c.lead_id, query.after, query.descending))
    direction = operator.methodcaller("desc" if query.descending else "asc")
    # NULLS LAST, not a CASE on NULL: SQLite then walks the (workspace, sort column,
    # lead id) index in order and stops after the page, instead of sorting every match.
    stmt = (
        select(c.lead_id, sort_col)
        .where(*where)
        .order_by(direction(sort_col).nulls_last(), direction(c.lead_id))
        .limit(query.limit + 1)
    )
    keys = [(row[0], row[1]) for row in conn.execute(stmt)]
    # Then the page's rows straight through the driver (3x cheaper than SQLAlchemy's
    # per-value result processing, which dominated the list).
    ids = [lead_id for lead_id, _ in keys]
    rows = {d["lead_id"]: d for d in rows_of(conn, t.contacts).select_in(conn, "lead_id", ids)}
    views = [view_from_row(rows[lead_id]) for lead_id, _ in keys[: query.limit] if lead_id in rows]
    views = with_merged(conn, t, views)
    if len(keys) <= query.limit:
        return views, None
    lead_id, value = keys[query.limit - 1]
    return views, (value, lead_id)


def _filters(t: ViewTables, query: LeadQuery) -> list[ColumnElement[bool]]:
    c = t.contacts.c
    found: list[ColumnElement[bool]] = []
    for col, values in (
        (c.lead_status, query.statuses),
        (c.lead_temperature, query.temperatures),
        (c.chat_phase, query.chat_phases),
        (c.conversation_status, query.conversation_statuses),
        (c.status_source, query.status_sources),
    ):
        if values:
            found.append(col.in_(values))
    bounds = (
        (c.lead_score, query.score_min, query.score_max),
        (c.updated_at, query.updated_since, query.updated_until),
        (c.last_message_at, query.last_message_since, query.last_message_until),
    )
    for col, low, high in bounds:
        if low is not None:
            found.append(col >= low)
        if high is not None:
            found.append(col <= high)
    if query.q:
        patterns = [like_pattern(q) for q in (query.q, query.q_phone) if q]
        found.append(or_(*(c.search_text.like(p, escape="\\") for p in patterns)))
    return found


def _after(
    col: Column[Any], lead_id: Column[Any], key: tuple[Any, str], descending: bool
) -> ColumnElement[bool]:
    """Rows after `key` in (value NULLS LAST, lead_id) order."""
    beyond = operator.lt if descending else operator.gt
    value, last_id = key
    if value is None:
        return and_(col.is_(None), beyond(lead_id, last_id))
    return or_(col.is_(None), beyond(col, value), and_(col == value, beyond(lead_id, last_id)))


def get_view(conn: Connection, t: ViewTables, workspace: str, lead_id: UUID) -> ContactView | None:
    c = t.contacts.c
    row = conn.execute(
        select(t.contacts).where(c.lead_id == str(lead_id), c.workspace == workspace)
    ).first()
    return None if row is None else with_merged(conn, t, [row_to_view(row)])[0]


def with_merged(conn: Connection, t: ViewTables, views: list[ContactView]) -> list[ContactView]:
    """Each view combined with the leads that point at it (`held_by`: a person's other
    ids, histories merged into it), so that one person shows as one lead."""
    ids = [str(v.lead_id) for v in views]
    merged: dict[str, list[ContactView]] = {}
    for data in rows_of(conn, t.contacts).select_in(conn, "held_by", ids):
        merged.setdefault(data["held_by"], []).append(view_from_row(data))
    if not merged:
        return views
    return [combined(v, merged.get(str(v.lead_id), [])) for v in views]


def status_history(
    conn: Connection,
    t: ViewTables,
    view: ContactView,
    position: int | None = None,
    newest: int | None = None,
) -> list[StatusHistoryEntry]:
    """The lead's status proposals in ledger order (or the one at `position`; or only the
    `newest` ones, still in ledger order)."""
    rows = _lead_rows(conn, t.history, view, position, newest, ("workspace", "notification_id"))
    return [built(StatusHistoryEntry, data) for data in rows]


def notes(
    conn: Connection,
    t: ViewTables,
    view: ContactView,
    position: int | None = None,
    newest: int | None = None,
) -> list[NoteEntry]:
    rows = _lead_rows(conn, t.notes, view, position, newest, ("workspace",))
    return [built(NoteEntry, data) for data in rows]


def _lead_rows(
    conn: Connection,
    table: Table,
    view: ContactView,
    position: int | None,
    newest: int | None,
    dropped: tuple[str, ...],
) -> list[dict[str, Any]]:
    """A lead's rows of a per-position table, decoded, in ledger order (or the one at
    `position`; or only the `newest` ones, still in ledger order), without `dropped`.
    Straight through the driver: a long history is hundreds of rows (projections/rows.py)."""
    rows, mark = rows_of(conn, table), _mark(conn)
    where = f'"lead_id" = {mark} AND "workspace" = {mark}'
    params: tuple[Any, ...] = (str(view.lead_id), view.workspace)
    if position is not None:
        where, params = f'{where} AND "position" = {mark}', (*params, position)
    order = (
        ' ORDER BY "position"'
        if newest is None
        else f' ORDER BY "position" DESC LIMIT {int(newest)}'
    )
    found = []
    for row in conn.exec_driver_sql(f"{rows.select_sql}{where}{order}", params):
        data = rows.decode(row)
        for name in dropped:
            del data[name]
        data["lead_id"] = view.lead_id
        found.append(data)
    return found if newest is None else found[::-1]


def messages(
    conn: Connection, t: ViewTables, view: ContactView, newest: int | None = None
) -> list[MessageEntry]:
    """The timeline by the sources' time; entries known only from a status report last
    (`newest`: only the last ones of that order)."""
    rows, mark = rows_of(conn, t.messages), _mark(conn)
    # With the messages of the leads of the person's other ids that link here (a history
    # begun under a BSUID before the phone was known, a merged one): one timeline. Those
    # are found by held_by alone (a lead id is one workspace's; the messages' own condition
    # keeps the workspace): with the workspace too, SQLite walked its every contact.
    linked = f'SELECT "lead_id" FROM "{t.contacts.name}" WHERE "held_by" = {mark}'  # noqa: S608
    where = f'("lead_id" = {mark} OR "lead_id" IN ({linked})) AND "workspace" = {mark}'
    params = (str(view.lead_id), str(view.lead_id), view.workspace)
    keys = ('CASE WHEN "at" IS NULL THEN 1 ELSE 0 END', '"at"', '"message_id"')
    order = ", ".join(keys if newest is None else [f"{k} DESC" for k in keys])
    limit = "" if newest is None else f" LIMIT {int(newest)}"
    found = []
    for row in conn.exec_driver_sql(f"{rows.select_sql}{where} ORDER BY {order}{limit}", params):
        data = rows.decode(row)
        del data["workspace"]
        data["lead_id"] = UUID(data["lead_id"])
        found.append(built(MessageEntry, data))
    return found if newest is None else found[::-1]


def _mark(conn: Connection) -> str:
    """The driver's parameter mark."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def stats(
    conn: Connection, t: ViewTables, workspace: str
) -> tuple[int, dict[str, int], dict[str, int]]:
    """(total, per lead_status, per lead_temperature); a lead without a temperature: 'unset'."""
    c = t.contacts.c
    rows = conn.execute(
        select(c.lead_status, c.lead_temperature, func.count())
        .where(c.workspace == workspace, c.held_by.is_(None))
        .group_by(c.lead_status, c.lead_temperature)
    ).all()
    total, by_status, by_temp = 0, dict[str, int](), dict[str, int]()
    for status, temperature, count in rows:
        total += count
        by_status[status or "unset"] = by_status.get(status or "unset", 0) + count
        by_temp[temperature or "unset"] = by_temp.get(temperature or "unset", 0) + count
    return total, by_status, by_temp


def lead_statuses(
    conn: Connection, t: ViewTables, workspace: str
) -> list[tuple[str, str | None, datetime]]:
    """(lead id, lead_status, created_at) of each of the workspace's leads (the leads that
    `stats` counts): what the dashboard's chart walks back from."""
    c = t.contacts.c
    stmt = select(c.lead_id, c.lead_status, c.created_at).where(
        c.workspace == workspace, c.held_by.is_(None)
    )
    return [(str(row[0]), row[1], row[2]) for row in conn.execute(stmt)]
