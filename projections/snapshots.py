"""Snapshots of the contact view every SNAPSHOT_EVERY events of a lead, so that `as_of`
replays at most that many events instead of the lead's whole history.

`as_of` folds a lead's events up to the first one recorded after the moment (projections/
as_of.py). A snapshot at position p stands for that prefix only when no event before p was
recorded later than p's: the writer records a marker (a row without a view) wherever the
store's clock went back between two events of a lead, and snapshots at or after a
marker are never used. An erasure deletes the lead's snapshots (they hold personal data).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, select

from domain.reducer import ContactView, LedgerEvent
from projections.rows import rows_of
from projections.tables import ViewTables

SNAPSHOT_EVERY = 100
_TIMES = frozenset(f.name for f in fields(ContactView) if "datetime" in str(f.type))

Snapshot = tuple[str, int, datetime, ContactView | None]  # lead, position, recorded at, view


def taken(
    lead: str, before: ContactView | None, event: LedgerEvent, after: ContactView
) -> Snapshot | None:
    """What to store once `event` turned the lead's view `before` into `after`, if anything."""
    if before is None or event.position <= before.version:
        return None  # the first event, or one applied before (nothing changes)
    if event.recorded_at < before.updated_at:  # updated_at: the previous event's time
        return (lead, event.position, event.recorded_at, None)
    if event.position % SNAPSHOT_EVERY == 0:
        return (lead, event.position, event.recorded_at, after)
    return None


def write(conn: Connection, tables: ViewTables, rows: list[Snapshot]) -> None:
    codec = rows_of(conn, tables.snapshots)
    codec.upsert(
        conn,
        [
            codec.encode(
                {
                    "lead_id": lead,
                    "position": position,
                    "recorded_at": at,
                    "view": None if view is None else _plain(view),
                }
            )
            for lead, position, at, view in rows
        ],
    )


def forget(conn: Connection, tables: ViewTables, lead_ids: list[str]) -> None:
    if lead_ids:
        s = tables.snapshots
        conn.execute(delete(s).where(s.c.lead_id.in_(lead_ids)))


def latest(
    conn: Connection, tables: ViewTables, lead_id: UUID, as_of: datetime
) -> ContactView | None:
    """The newest usable snapshot recorded at or before `as_of` (None: replay it all)."""
    s = tables.snapshots
    marks = conn.execute(
        select(s.c.position, s.c.recorded_at, s.c.view.is_(None))
        .where(s.c.lead_id == str(lead_id))
        .order_by(s.c.position)
    ).all()
    best: int | None = None
    for position, recorded_at, is_marker in marks:
        if is_marker:
            break
        if recorded_at <= as_of:
            best = position
    if best is None:
        return None
    data = conn.execute(
        select(s.c.view).where(s.c.lead_id == str(lead_id), s.c.position == best)
    ).scalar_one()
    return _view(data)


def at_or_before(
    conn: Connection, tables: ViewTables, lead_id: UUID, position: int
) -> ContactView | None:
    """The newest snapshot at or before `position` (the fold of the events up to its own
    position, whatever the store's clock did; None: replay it all)."""
    s = tables.snapshots
    data = conn.execute(
        select(s.c.view)
        .where(s.c.lead_id == str(lead_id), s.c.position <= position, s.c.view.is_not(None))
        .order_by(s.c.position.desc())
        .limit(1)
    ).scalar()
    return None if data is None else _view(data)


def _plain(view: ContactView) -> dict[str, Any]:
    data = {**vars(view), "lead_id": str(view.lead_id)}
    for name in _TIMES:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def _view(data: dict[str, Any]) -> ContactView:
    data = dict(data, lead_id=UUID(data["lead_id"]))
    for name in _TIMES:
        if data.get(name) is not None:
            data[name] = datetime.fromisoformat(data[name])
    return ContactView(**data)
