"""Apply a page of ledger events to one generation of view tables, inside the caller's
transaction (which also moves the tracking position: exactly once)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, insert
from sqlalchemy.exc import OperationalError

from domain.policy import Policy
from domain.reducer import (
    ContactView,
    LedgerEvent,
    MessageEntry,
    NoteEntry,
    StatusHistoryEntry,
    apply,
)
from domain.reducer.changes import ChangeItem, changes_of
from domain.reducer.messages import named_messages
from projections import feed_rows, snapshots
from projections.erasure import blank_erased
from projections.rows import IN_CHUNK, mark, rows_of, storable
from projections.search import search_text
from projections.tables import ViewTables

log = logging.getLogger("leadledger.projections")
T = TypeVar("T")


def apply_page(
    conn: Connection, tables: ViewTables, events: Sequence[LedgerEvent], policy: Policy
) -> int:
    """Fold `events` into the views; returns how many events failed (recorded, skipped).

    Reads the touched leads' views (and the message entries the events name) once, folds
    the page in memory and writes each changed row once: bulk upserts of views and
    messages, bulk inserts of history and notes."""
    leads = [str(e.lead_id) for e in events]
    lead_ids = sorted(set(leads))
    # A lead whose event failed stays frozen until a fix and `leadledger projections
    # rebuild`, so its view never silently misses an event.
    failed: set[str] = stuck_leads(conn, tables, lead_ids)
    ids = {lead: e.lead_id for lead, e in zip(leads, events, strict=True)}
    views = _load_views(conn, tables, [i for i in lead_ids if i not in failed], ids)
    stored = dict(views)  # as the contact rows hold them: what their upserts may keep
    messages = _load_messages(conn, tables, events, leads, ids)
    history: list[tuple[str, int | None, StatusHistoryEntry]] = []
    notes: list[tuple[str, NoteEntry]] = []
    touched: dict[tuple[str, str], MessageEntry] = {}
    failures: list[dict[str, Any]] = []
    taken: list[snapshots.Snapshot] = []
    erased: set[str] = set()  # leads whose stored rows an erasure blanks (projections/erasure.py)
    changes: list[ChangeItem] = []  # the change feed's items, in ledger order
    for lead, event in zip(leads, events, strict=True):
        if lead in failed:
            continue
        state = messages.get(lead)
        if state is None:
            state = messages[lead] = {}
        before = views.get(lead)
        try:
            effects = apply(before, event, policy, state)
            items = changes_of(before, event, effects)
        except Exception as exc:  # one bad event must not stop the other leads
            log.exception("projection failed on notification %s", event.notification_id)
            failed.add(lead)
            failures.append(_failure_row(event, exc))
            continue
        views[lead] = effects.view
        changes += items
        snapshot = snapshots.taken(lead, before, event, effects.view)
        if snapshot is not None:
            taken.append(snapshot)
        if effects.erased:
            erased.add(lead)
        if effects.history:
            history += [(lead, event.notification_id, h) for h in effects.history]
        if effects.notes:
            notes += [(lead, n) for n in effects.notes]
        for entry in effects.messages:
            state[entry.message_id] = entry
            touched[(lead, entry.message_id)] = entry
    for lead in failed:
        views.pop(lead, None)
    _write(conn, tables, stored, views, history, notes, touched)
    feed_rows.write(conn, tables, [c for c in changes if c.lead_id in views])
    snapshots.write(conn, tables, [t for t in taken if t[0] in views])
    _forget_erased(conn, tables, erased - failed)
    if failures:
        conn.execute(insert(tables.failures), [storable(f) for f in failures])
    return len(failures)


def _forget_erased(conn: Connection, tables: ViewTables, leads: set[str]) -> None:
    """Blank the erased leads' stored rows and drop their view snapshots, which hold the
    erased data too (docs/erasure.md)."""
    blank_erased(conn, tables, leads)
    snapshots.forget(conn, tables, sorted(leads))


def _write(
    conn: Connection,
    tables: ViewTables,
    stored: dict[str, ContactView],
    views: dict[str, ContactView],
    history: list[tuple[str, int | None, StatusHistoryEntry]],
    notes: list[tuple[str, NoteEntry]],
    touched: dict[tuple[str, str], MessageEntry],
) -> None:
    """The page's rows, each written once (leads that failed in this page are left out)."""
    rows = rows_of(conn, tables.contacts)
    rows.upsert_keeping(
        conn,
        [
            (
                rows.encode({**vars(v), "lead_id": i, "search_text": search_text(v)}),
                _unchanged(rows.indexed, stored.get(i), v),
            )
            for i, v in views.items()
        ],
    )
    rows = rows_of(conn, tables.history)
    rows.insert(
        conn,
        [
            rows.encode(
                {
                    **vars(h),
                    "lead_id": lead,
                    "workspace": views[lead].workspace,
                    "notification_id": notification_id,
                }
            )
            for lead, notification_id, h in history
            if lead in views
        ],
    )
    rows = rows_of(conn, tables.notes)
    rows.insert(
        conn,
        [
            rows.encode({**vars(n), "lead_id": lead, "workspace": views[lead].workspace})
            for lead, n in notes
            if lead in views
        ],
    )
    rows = rows_of(conn, tables.messages)
    rows.upsert(
        conn,
        [
            rows.encode({**vars(m), "lead_id": lead, "workspace": views[lead].workspace})
            for (lead, _), m in touched.items()
            if lead in views
        ],
    )


def _unchanged(
    indexed: frozenset[str], before: ContactView | None, after: ContactView
) -> frozenset[str]:
    """The indexed columns whose stored value `after` leaves as it is (none for a new row;
    a column the view does not hold, search_text, counts as changed)."""
    if before is None:
        return frozenset()
    was, now = vars(before), vars(after)
    return frozenset(n for n in indexed if n in now and n in was and was[n] == now[n])


def apply_page_isolating(
    conn: Connection, tables: ViewTables, events: Sequence[LedgerEvent], policy: Policy
) -> None:
    """`apply_page`, but an event the views cannot take (a value the database refuses, a
    reducer error) is set aside and its lead frozen, instead of blocking every lead.

    Savepoints keep it inside the caller's transaction, so live catch-up, rebuilds and
    verify behave alike. Connection loss is re-raised: then nothing is skipped.
    """
    try:
        with conn.begin_nested():
            apply_page(conn, tables, events, policy)
        return
    except OperationalError:
        raise
    except Exception:
        log.warning("a page failed; applying its %d events one by one", len(events))
    for event in events:
        try:
            with conn.begin_nested():
                apply_page(conn, tables, [event], policy)
        except OperationalError:
            raise
        except Exception as exc:  # the one event the views cannot take
            log.error("views set aside notification %s: %r", event.notification_id, exc)
            with conn.begin_nested():
                record_failure(conn, tables, event, exc)


def record_failure(
    conn: Connection, tables: ViewTables, event: LedgerEvent, exc: Exception
) -> None:
    """Set an event aside: its lead is frozen (see stuck_leads) until a fix and a rebuild."""
    conn.execute(insert(tables.failures).values(**storable(_failure_row(event, exc))))


def _failure_row(event: LedgerEvent, exc: Exception) -> dict[str, Any]:
    return {
        "notification_id": event.notification_id,
        "lead_id": str(event.lead_id),
        "error": repr(exc)[:2000],
        "at": datetime.now(UTC),
    }


def stuck_leads(conn: Connection, tables: ViewTables, lead_ids: list[str]) -> set[str]:
    placeholder = mark(conn)
    found: set[str] = set()
    for i in range(0, len(lead_ids), IN_CHUNK):
        chunk = lead_ids[i : i + IN_CHUNK]
        found.update(
            row[0]
            for row in conn.exec_driver_sql(
                f'SELECT "lead_id" FROM "{tables.failures.name}" '  # noqa: S608 - our name
                f'WHERE "lead_id" IN ({", ".join([placeholder] * len(chunk))})',
                tuple(chunk),
            )
        )
    return found


def row_to_view(row: Any) -> ContactView:
    """A contacts row (SQLAlchemy) as the view."""
    data = dict(row._mapping)
    data["lead_id"] = UUID(data["lead_id"])
    return _view(data)


def _view(data: dict[str, Any]) -> ContactView:
    data.pop("search_text", None)  # the writer's, not the view's (projections/search.py)
    data["extracted"] = dict(data["extracted"] or {})
    return built(ContactView, data)


def view_from_row(data: dict[str, Any]) -> ContactView:
    """A contacts row as `rows_of(...).decode` gives it (lead id as text) as the view."""
    return _view({**data, "lead_id": UUID(data["lead_id"])})


def built(cls: type[T], data: dict[str, Any]) -> T:
    """A frozen dataclass from its stored fields, all present, without running `__init__`
    (the writer reads thousands per page; these classes have no `__post_init__`)."""
    made = object.__new__(cls)
    made.__dict__.update(data)
    return made


def _load_views(
    conn: Connection, tables: ViewTables, lead_ids: list[str], ids: dict[str, UUID]
) -> dict[str, ContactView]:
    views: dict[str, ContactView] = {}
    for data in rows_of(conn, tables.contacts).select_in(conn, "lead_id", lead_ids):
        lead = data["lead_id"]
        data["lead_id"] = ids[lead]
        views[lead] = _view(data)
    return views


def _load_messages(
    conn: Connection,
    tables: ViewTables,
    events: Sequence[LedgerEvent],
    leads: list[str],
    ids: dict[str, UUID],
) -> dict[str, dict[str, MessageEntry]]:
    """The stored entries of the messages the events name (a status builds on its
    message's entry, a message on a status that came first): looked up by lead and
    message id (one index probe each), so a lead's long history is never read to find one
    entry, nor every combination of a page's leads and ids probed."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for lead, event in zip(leads, events, strict=True):
        named = named_messages(event)
        if named:
            wanted[lead].update(named)
    found: dict[str, dict[str, MessageEntry]] = defaultdict(dict)
    pairs = [(lead, message_id) for lead in sorted(wanted) for message_id in sorted(wanted[lead])]
    for data in rows_of(conn, tables.messages).select_pairs(conn, "lead_id", "message_id", pairs):
        lead = data.pop("lead_id")
        del data["workspace"]
        data["lead_id"] = ids[lead]
        found[lead][data["message_id"]] = built(MessageEntry, data)
    return found
