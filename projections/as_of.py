"""Reads across time: a lead as it stood at a moment (replayed from the ledger), and the
workspace's audit trail (who changed what, newest first).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, and_, or_, select

from adapters.eventstore.store import LedgerStore
from domain.policy import Policy
from domain.reducer import ContactView, LedgerEvent, MessageEntry, apply
from projections import snapshots
from projections.queries import read_views, with_merged
from projections.source import lead_history
from projections.state import policy_of, read_state
from projections.tables import ViewTables

# A replay starts at the snapshot before its point, so it reads about SNAPSHOT_EVERY events:
# pages that size, not the whole rest of a long history.
REPLAY_PAGE = snapshots.SNAPSHOT_EVERY + 1


def lead_as_of(
    engine: Engine, store: LedgerStore, workspace: str, lead_id: UUID, as_of: datetime
) -> ContactView | None:
    """The lead folded from the events recorded up to `as_of`, under the ACTIVE policy (the
    one the live views use, so a replay of today equals the live view); None when it did
    not exist yet (or belongs to another workspace).

    The fold starts from the newest usable view snapshot at or before `as_of` (one every
    100 events: projections/snapshots.py), so it replays at most 100 events."""

    def start(conn: Connection, tables: ViewTables) -> tuple[Policy, ContactView | None]:
        policy = policy_of(read_state(conn).active_policy)
        return policy, snapshots.latest(conn, tables, lead_id, as_of)

    policy, view = read_views(engine, start)
    after = 0 if view is None else view.version
    # Stop at the first later event: later positions were decided with earlier ones in place.
    events = itertools.takewhile(
        lambda e: e.recorded_at <= as_of, lead_history(store, lead_id, after, REPLAY_PAGE)
    )
    view = _folded(view, events, policy)
    return view if view is not None and view.workspace == workspace else None


def lead_at_position(
    engine: Engine, store: LedgerStore, workspace: str, lead_id: UUID, position: int
) -> ContactView | None:
    """The lead right after its event at `position`, under the active policy, with the leads
    of the person's other ids as they are now: what a command's answer shows, the same
    for the first answer and every replay of it."""

    def start(conn: Connection, tables: ViewTables) -> tuple[Policy, ContactView | None]:
        policy = policy_of(read_state(conn).active_policy)
        return policy, snapshots.at_or_before(conn, tables, lead_id, position)

    policy, view = read_views(engine, start)
    after = 0 if view is None else view.version
    events = itertools.takewhile(
        lambda e: e.position <= position, lead_history(store, lead_id, after, REPLAY_PAGE)
    )
    view = _folded(view, events, policy)
    if view is None or view.workspace != workspace:
        return None
    folded = view
    return read_views(engine, lambda conn, t: with_merged(conn, t, [folded])[0])


def _folded(
    view: ContactView | None, events: Iterable[LedgerEvent], policy: Policy
) -> ContactView | None:
    messages: dict[str, MessageEntry] = {}
    for event in events:
        effects = apply(view, event, policy, messages)
        view = effects.view
        messages.update((m.message_id, m) for m in effects.messages)
    return view


@dataclass(frozen=True)
class AuditQuery:
    source: str | None = None
    actor: str | None = None
    principal: str | None = None  # the API key's principal: its name or its key id
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    after: tuple[datetime, str, int] | None = None  # (at, lead id, position) of the last seen


@dataclass(frozen=True)
class AuditEntry:
    kind: str  # "status" (a status proposal and its outcome) or "note"
    lead_id: UUID
    phone: str | None
    position: int
    at: datetime
    source: str
    actor: str
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    origin: str | None = None
    content: str | None = None
    principal: str | None = None
    principal_role: str | None = None
    key_id: str | None = None


def audit(
    conn: Connection, t: ViewTables, workspace: str, query: AuditQuery
) -> tuple[list[AuditEntry], tuple[datetime, str, int] | None]:
    """Status history rows and notes, newest first, and the key to continue after the page.

    (lead id, position) is unique across both tables (one event, one row), so with `at`
    it is a total order: each table gives its first limit+1 rows, merged here.
    """
    rows = [
        *_rows(conn, t, t.history, "status", workspace, query),
        *_rows(conn, t, t.notes, "note", workspace, query),
    ]
    rows.sort(key=lambda e: (e.at, str(e.lead_id), e.position), reverse=True)
    if len(rows) <= query.limit:
        return rows, None
    last = rows[query.limit - 1]
    return rows[: query.limit], (last.at, str(last.lead_id), last.position)


def _rows(
    conn: Connection, t: ViewTables, table: Table, kind: str, workspace: str, query: AuditQuery
) -> list[AuditEntry]:
    c, contacts = table.c, t.contacts.c
    where = [c.workspace == workspace]
    if query.source is not None:
        where.append(c.source == query.source)
    if query.actor is not None:
        where.append(c.actor == query.actor)
    if query.principal is not None:
        where.append(or_(c.principal == query.principal, c.key_id == query.principal))
    if query.since is not None:
        where.append(c.at >= query.since)
    if query.until is not None:
        where.append(c.at <= query.until)
    if query.after is not None:
        at, lead_id, position = query.after
        where.append(
            or_(
                c.at < at,
                and_(c.at == at, c.lead_id < lead_id),
                and_(c.at == at, c.lead_id == lead_id, c.position < position),
            )
        )
    stmt = (
        select(table, contacts.phone)
        .select_from(table.outerjoin(t.contacts, contacts.lead_id == c.lead_id))
        .where(*where)
        .order_by(c.at.desc(), c.lead_id.desc(), c.position.desc())
        .limit(query.limit + 1)
    )
    return [_entry(kind, row._mapping) for row in conn.execute(stmt)]


def _entry(kind: str, row: Any) -> AuditEntry:
    data = {k: v for k, v in row.items() if k not in ("workspace", "notification_id")}
    data["lead_id"] = UUID(data["lead_id"])
    return AuditEntry(kind=kind, **data)
