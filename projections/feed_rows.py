"""The change feed's table: written by the projection pass that writes the contact view
(same transaction), read in ledger order by cursor (docs/changes.md). Reads stop at the
position every partition of the views has reached (projections/tracking.py): with
partitioned views a later position may be applied before an earlier one, and a reader
must never pass an item that is not there yet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select

from domain.reducer.changes import VOCABULARY, WHOLE_POSITION, ChangeItem
from projections.rows import rows_of
from projections.tables import ViewTables
from projections.tracking import settled

_CURSOR = re.compile(r"^(\d{1,18})(?:\.(\d{1,9}))?$")


class BadCursorError(ValueError):
    """A cursor that is not `<position>` or `<position>.<seq>`."""


@dataclass(frozen=True, order=True)
class Cursor:
    position: int = 0
    seq: int = -1  # -1: before the first item of `position`

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """'' or None: from the start; 'P': after all of position P; 'P.S': after item S."""
        if text is None or not text.strip():
            return cls()
        found = _CURSOR.match(text.strip())
        if found is None:
            raise BadCursorError("not a change cursor (expected a change id, e.g. 1234.0)")
        seq = found.group(2)
        return cls(int(found.group(1)), WHOLE_POSITION if seq is None else int(seq))

    def __str__(self) -> str:
        return str(self.position) if self.seq == WHOLE_POSITION else f"{self.position}.{self.seq}"


@dataclass(frozen=True)
class ChangeQuery:
    workspace: str
    after: Cursor = Cursor()
    limit: int = 100
    types: tuple[str, ...] = ()
    lead_id: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.types) - set(VOCABULARY))
        if unknown:
            raise ValueError(f"unknown change types: {', '.join(unknown)}")

    def wants(self, item: ChangeItem) -> bool:
        return (not self.types or item.type in self.types) and (
            self.lead_id is None or item.lead_id == self.lead_id
        )


def write(conn: Connection, tables: ViewTables, items: Sequence[ChangeItem]) -> None:
    rows = rows_of(conn, tables.changes)
    # Upsert: a page redone after a failed savepoint writes the same keys again. The
    # column encoders replace NUL (projections/rows.py): no `storable` walk first.
    rows.upsert(conn, [rows.encode(_row(item)) for item in items])


def read(conn: Connection, tables: ViewTables, query: ChangeQuery) -> list[ChangeItem]:
    """The workspace's items after the cursor, in ledger order, at most `limit`."""
    c = tables.changes
    after = query.after
    stmt = select(c).where(
        c.c.position <= settled(conn, tables),
        c.c.workspace == query.workspace,
        # The plain bound on position lets the (workspace, position, seq) index range-scan.
        c.c.position >= after.position,
        or_(c.c.position > after.position, c.c.seq > after.seq),
    )
    if query.types:
        stmt = stmt.where(c.c.type.in_(query.types))
    if query.lead_id is not None:
        stmt = stmt.where(c.c.lead_id == query.lead_id)
    stmt = stmt.order_by(c.c.position, c.c.seq).limit(query.limit)
    return [_item(dict(row._mapping)) for row in conn.execute(stmt)]


def _row(item: ChangeItem) -> dict[str, Any]:
    return {**vars(item)}


def _item(row: dict[str, Any]) -> ChangeItem:
    return ChangeItem(**row)


def head(conn: Connection, tables: ViewTables, workspace: str) -> int | None:
    """The workspace's last position in the feed (an index lookup), None if it has none."""
    c = tables.changes
    top = conn.execute(
        select(func.max(c.c.position)).where(
            c.c.workspace == workspace, c.c.position <= settled(conn, tables)
        )
    ).scalar()
    return None if top is None else int(top)


def everything_after(
    conn: Connection, tables: ViewTables, after: Cursor, limit: int
) -> list[ChangeItem]:
    """Every workspace's items after the cursor, in ledger order (the streams' shared tail)."""
    c = tables.changes
    stmt = (
        select(c)
        .where(
            c.c.position <= settled(conn, tables),
            c.c.position >= after.position,
            or_(c.c.position > after.position, c.c.seq > after.seq),
        )
        .order_by(c.c.position, c.c.seq)
        .limit(limit)
    )
    return [_item(dict(row._mapping)) for row in conn.execute(stmt)]


def end(conn: Connection, tables: ViewTables) -> Cursor:
    """After the feed's last item (of every workspace); the start when it is empty."""
    c = tables.changes
    top = conn.execute(select(func.max(c.c.position))).scalar()
    return Cursor() if top is None else Cursor(min(int(top), settled(conn, tables)), WHOLE_POSITION)
