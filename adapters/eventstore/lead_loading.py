"""Loading many existing leads at once: one events query for a whole write batch.

The repository loads a lead with a snapshot query and an events query; a batch that touches
hundreds of existing leads (a re-import, a burst of replies) paid those round trips per
lead. Here the events of all of them come in one query (ordered by lead and version), are
decoded by the store's own mapper (so unsealing and upcasting apply) and replayed with
eventsourcing's `project_aggregate`, as the repository would. Leads with a snapshot (long
histories) are left to the repository, which starts from the snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from itertools import groupby
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

from adapters.eventstore.lead_existence import saved_in
from adapters.eventstore.store import LedgerStore
from domain.lead import Lead

_CHUNK = 500  # SQLite's bound parameters stay far below its limit


def load_leads(store: LedgerStore, lead_ids: Collection[UUID]) -> dict[UUID, Lead]:
    """The leads among `lead_ids` that have events and no snapshot, rebuilt; the others
    (new, snapshotted, or a recorder this cannot query in bulk) are absent."""
    wanted = list(lead_ids)
    if not wanted:
        return {}
    if store.snapshots is not None:
        snapshotted = saved_in(store.snapshots.recorder, wanted, first_only=False)
        if snapshotted is None:
            return {}
        wanted = [i for i in wanted if i not in snapshotted]
    rows = _stored_events(store.recorder, wanted)
    if rows is None:
        return {}
    loaded: dict[UUID, Lead] = {}
    for lead_id, stored in groupby(rows, key=lambda s: s.originator_id):
        events = [store.mapper.to_domain_event(s) for s in stored]
        lead = project_aggregate(None, events)
        if isinstance(lead, Lead) and events[0].originator_version == 1:
            loaded[UUID(str(lead_id))] = lead
    return loaded


def _stored_events(recorder: object, lead_ids: list[UUID]) -> Iterator[StoredEvent] | None:
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _sqlite(recorder, lead_ids)
    if isinstance(recorder, PostgresAggregateRecorder):
        return _postgres(recorder, lead_ids)
    return None


def _sqlite(recorder: SQLiteAggregateRecorder, lead_ids: list[UUID]) -> Iterator[StoredEvent]:
    for start in range(0, len(lead_ids), _CHUNK):
        chunk = lead_ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        statement = (
            "SELECT originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {recorder.events_table_name} WHERE originator_id IN ({marks}) "
            "ORDER BY originator_id, originator_version"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [i.hex for i in chunk])
            rows = cursor.fetchall()
        yield from (_stored(row, UUID(str(row["originator_id"]))) for row in rows)


def _postgres(recorder: PostgresAggregateRecorder, lead_ids: list[UUID]) -> Iterator[StoredEvent]:
    query = (
        "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
    )
    statement = SQL(query).format(  # a literal of this module
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(statement, [lead_ids])
        rows = cursor.fetchall()
    yield from (_stored(row, UUID(str(row["originator_id"]))) for row in rows)


def _stored(row: Any, lead_id: UUID) -> StoredEvent:
    return StoredEvent(
        originator_id=lead_id,
        originator_version=int(row["originator_version"]),
        topic=str(row["topic"]),
        state=bytes(row["state"]),
    )
