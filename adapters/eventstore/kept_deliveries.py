"""Kept raw deliveries (`UnhandledDelivery.Kept`) of one workspace, a page at a time.

The workspace is an audit field of the stored event (never sealed), so the database
filters on it before the page's LIMIT: one workspace's many kept deliveries never crowd
another's out of its page, and only the page is decrypted. Keyed by notification id, so
pages are stable while new deliveries arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from adapters.eventstore.store import LedgerStore
from domain.delivery import UnhandledDelivery

KEPT_TOPIC = get_topic(UnhandledDelivery.Kept)
REINGESTED_TOPIC = get_topic(UnhandledDelivery.Reingested)
_SCAN_PAGE = 500  # the in-memory store has no SQL: it is scanned this many at a time


def kept_page(store: LedgerStore, workspace: str, after: int, limit: int) -> list[Any]:
    """The workspace's kept deliveries after notification `after`, oldest first, at most
    `limit`; each as (notification id, its `Kept` event)."""
    recorder = store.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        rows = _sqlite_page(recorder, workspace, after, limit)
    elif isinstance(recorder, PostgresApplicationRecorder):
        rows = _postgres_page(recorder, workspace, after, limit)
    else:
        rows = _scanned_page(store, workspace, after, limit)
    return [(row.id, store.mapper.to_domain_event(row)) for row in rows]


def reingested_among(store: LedgerStore, delivery_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these deliveries were re-ingested (a `Reingested` event follows the `Kept`
    one); one indexed lookup each, so a page costs what its size does."""
    return {
        delivery_id
        for delivery_id in delivery_ids
        if any(
            e.topic == REINGESTED_TOPIC
            for e in store.recorder.select_events(delivery_id, gt=1, limit=4)
        )
    }


def _sqlite_page(
    recorder: SQLiteApplicationRecorder, workspace: str, after: int, limit: int
) -> list[Notification]:
    statement = (
        "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
        f"FROM {recorder.events_table_name} WHERE topic = ? AND rowid > ? "
        "AND json_extract(CAST(state AS TEXT), '$.workspace') = ? ORDER BY rowid LIMIT ?"
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, (KEPT_TOPIC, after, workspace, limit))
        return [
            Notification(
                id=row[0],
                originator_id=recorder.convert_originator_id(row[1]),
                originator_version=row[2],
                topic=row[3],
                state=row[4],
            )
            for row in cursor.fetchall()
        ]


def _postgres_page(
    recorder: PostgresApplicationRecorder, workspace: str, after: int, limit: int
) -> list[Notification]:
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {schema}.{table} WHERE topic = %s AND notification_id > %s "
        "AND convert_from(state, 'UTF8')::json ->> 'workspace' = %s "
        "ORDER BY notification_id LIMIT %s"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(statement, [KEPT_TOPIC, after, workspace, limit])
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in cursor.fetchall()
        ]


def _scanned_page(store: LedgerStore, workspace: str, after: int, limit: int) -> list[Any]:
    found: list[Any] = []
    start = after + 1
    while len(found) < limit:
        page: Sequence[Notification] = store.recorder.select_notifications(
            start=start, limit=_SCAN_PAGE, topics=[KEPT_TOPIC]
        )
        found += [n for n in page if _workspace_of(store, n) == workspace][: limit - len(found)]
        if len(page) < _SCAN_PAGE:
            break
        start = page[-1].id + 1
    return found


def _workspace_of(store: LedgerStore, notification: Notification) -> Any:
    return getattr(store.mapper.to_domain_event(notification), "workspace", None)
