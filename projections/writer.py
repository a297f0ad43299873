"""Apply a page of ledger events to one generation of view tables, inside the caller's
transaction (which also moves the tracking position: exactly once)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, delete, insert, select, tuple_
from sqlalchemy.exc import OperationalError

from domain.policy import Policy
from domain.view import ContactView, LedgerEvent, MessageEntry, apply
from projections.tables import ViewTables

log = logging.getLogger("leadledger.projections")
_CHUNK = 500
T = TypeVar("T")


def apply_page(
    conn: Connection, tables: ViewTables, events: Sequence[LedgerEvent], policy: Policy
) -> int:
    """Fold `events` into the views; returns how many events failed (recorded, skipped)."""
    lead_ids = sorted({str(e.lead_id) for e in events})
    views = _load_views(conn, tables, lead_ids)
    messages = _load_messages(conn, tables, events)
    history: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    touched_messages: dict[tuple[str, str], MessageEntry] = {}
    # A lead whose event failed stays frozen until a fix and `leadledger projections
    # rebuild`, so its view never silently misses an event.
    failed: set[str] = stuck_leads(conn, tables, lead_ids)
    failures: list[dict[str, Any]] = []
    for event in events:
        lead = str(event.lead_id)
        if lead in failed:
            continue
        try:
            effects = apply(views.get(lead), event, policy, messages[lead])
        except Exception as exc:  # one bad event must not stop the other leads
            log.exception("projection failed on notification %s", event.notification_id)
            failed.add(lead)
            failures.append(_failure_row(event, exc))
            continue
        views[lead] = effects.view
        workspace = effects.view.workspace
        history += [
            {
                **_plain(h),
                "lead_id": lead,
                "workspace": workspace,
                "notification_id": event.notification_id,
            }
            for h in effects.history
        ]
        notes += [{**_plain(n), "lead_id": lead, "workspace": workspace} for n in effects.notes]
        for entry in effects.messages:
            messages[lead][entry.message_id] = entry
            touched_messages[(lead, entry.message_id)] = entry
    views = {k: v for k, v in views.items() if k not in failed}
    _replace_views(conn, tables, views)
    _insert(conn, tables.history, [h for h in history if h["lead_id"] in views])
    _insert(conn, tables.notes, [n for n in notes if n["lead_id"] in views])
    _replace_messages(
        conn, tables, {k: v for k, v in touched_messages.items() if k[0] in views}, views
    )
    _insert(conn, tables.failures, failures)
    return len(failures)


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
    conn.execute(insert(tables.failures).values(**_failure_row(event, exc)))


def _failure_row(event: LedgerEvent, exc: Exception) -> dict[str, Any]:
    return {
        "notification_id": event.notification_id,
        "lead_id": str(event.lead_id),
        "error": repr(exc)[:2000],
        "at": datetime.now(UTC),
    }


def stuck_leads(conn: Connection, tables: ViewTables, lead_ids: list[str]) -> set[str]:
    f = tables.failures
    found: set[str] = set()
    for chunk in _chunks(lead_ids):
        found.update(conn.execute(select(f.c.lead_id).where(f.c.lead_id.in_(chunk))).scalars())
    return found


def row_to_view(row: Any) -> ContactView:
    data = dict(row._mapping)
    data["lead_id"] = UUID(data["lead_id"])
    data["extracted"] = dict(data["extracted"] or {})
    return ContactView(**data)


def _load_views(
    conn: Connection, tables: ViewTables, lead_ids: list[str]
) -> dict[str, ContactView]:
    views: dict[str, ContactView] = {}
    for chunk in _chunks(lead_ids):
        for row in conn.execute(
            select(tables.contacts).where(tables.contacts.c.lead_id.in_(chunk))
        ):
            views[row.lead_id] = row_to_view(row)
    return views


def _load_messages(
    conn: Connection, tables: ViewTables, events: Sequence[LedgerEvent]
) -> dict[str, dict[str, MessageEntry]]:
    wanted = sorted(
        {(str(e.lead_id), str(e.data["message_id"])) for e in events if e.data.get("message_id")}
    )
    found: dict[str, dict[str, MessageEntry]] = defaultdict(dict)
    m = tables.messages
    for chunk in _chunks(wanted):
        for row in conn.execute(select(m).where(tuple_(m.c.lead_id, m.c.message_id).in_(chunk))):
            data = dict(row._mapping)
            data.pop("workspace")
            data["lead_id"] = UUID(data["lead_id"])
            found[row.lead_id][row.message_id] = MessageEntry(**data)
    return found


def _replace_views(conn: Connection, tables: ViewTables, views: dict[str, ContactView]) -> None:
    ids = sorted(views)
    for chunk in _chunks(ids):
        conn.execute(delete(tables.contacts).where(tables.contacts.c.lead_id.in_(chunk)))
    _insert(conn, tables.contacts, [{**_plain(views[i]), "lead_id": i} for i in ids])


def _replace_messages(
    conn: Connection,
    tables: ViewTables,
    touched: dict[tuple[str, str], MessageEntry],
    views: dict[str, ContactView],
) -> None:
    m = tables.messages
    keys = sorted(touched)
    for chunk in _chunks(keys):
        conn.execute(delete(m).where(tuple_(m.c.lead_id, m.c.message_id).in_(chunk)))
    _insert(
        conn,
        m,
        [{**_plain(touched[k]), "lead_id": k[0], "workspace": views[k[0]].workspace} for k in keys],
    )


def _plain(entry: Any) -> dict[str, Any]:
    """A dataclass's fields, shallow (dataclasses.asdict deep-copies: 10x slower here)."""
    return {f.name: getattr(entry, f.name) for f in fields(entry)}


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), [{k: _storable(v) for k, v in row.items()} for row in rows])


def _storable(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: a source that sent one keeps it in the ledger, the
    view shows U+FFFD instead (the same on every backend, so views stay comparable)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _chunks(items: list[T]) -> list[list[T]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
