"""The projection's position in the ledger, stored in the same transaction as the views."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from projections.tables import ViewTables


def position(conn: Connection, tables: ViewTables) -> int:
    value = conn.execute(
        select(tables.tracking.c.position).where(tables.tracking.c.id == 1)
    ).scalar()
    return int(value or 0)


def advance(conn: Connection, tables: ViewTables, to: int) -> None:
    """Move forward only: a replayed page never moves the position back."""
    t = tables.tracking
    moved = conn.execute(
        update(t)
        .where(t.c.id == 1, t.c.position < to)
        .values(position=to, updated_at=datetime.now(UTC))
    )
    if moved.rowcount == 0 and conn.execute(select(t.c.id).where(t.c.id == 1)).first() is None:
        conn.execute(insert(t).values(id=1, position=to, updated_at=datetime.now(UTC)))
