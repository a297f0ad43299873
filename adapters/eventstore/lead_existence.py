"""Which of many leads have ever been saved: one query for a whole write batch.

Loading a lead that does not exist yet costs a snapshot query and an events query only to
learn it is new; in a batch of mostly new leads (imports, a burst of first messages) that
was a third of the writer's time. A lead exists once its version-1 event is stored, so
one indexed query over the events' primary key answers for the whole batch (and one over
the snapshots, so a store whose old events were archived behind a snapshot still counts). A lead
registered meanwhile by another process is caught by the save's version conflict, which
the ledger retries on fresh state.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

from adapters.eventstore.store import LedgerStore

_CHUNK = 500  # SQLite's bound parameters stay far below its limit


def saved_leads(store: LedgerStore, lead_ids: Collection[UUID]) -> set[UUID] | None:
    """The subset of `lead_ids` with stored events; None when this recorder can't say
    (then callers load each lead as before)."""
    if not lead_ids:
        return set()
    found = saved_in(store.recorder, list(lead_ids), first_only=True)
    if found is None or store.snapshots is None:
        return found
    snapshotted = saved_in(store.snapshots.recorder, list(set(lead_ids) - found), first_only=False)
    return None if snapshotted is None else found | snapshotted


def saved_in(recorder: object, lead_ids: list[UUID], *, first_only: bool) -> set[UUID] | None:
    """Leads with a row in this recorder's table (with first_only, their version 1)."""
    condition = "AND originator_version = 1" if first_only else ""
    if not lead_ids:
        return set()
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _sqlite(recorder, lead_ids, condition)
    if isinstance(recorder, PostgresAggregateRecorder):
        return _postgres(recorder, lead_ids, condition)
    if isinstance(recorder, POPOAggregateRecorder):
        return {i for i in lead_ids if recorder.select_events(i, limit=1)}
    return None


def _sqlite(recorder: SQLiteAggregateRecorder, lead_ids: list[UUID], condition: str) -> set[UUID]:
    found: set[UUID] = set()
    for start in range(0, len(lead_ids), _CHUNK):
        chunk = lead_ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        statement = (
            f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "  # noqa: S608
            f"WHERE originator_id IN ({marks}) {condition}"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [i.hex for i in chunk])
            found.update(UUID(str(row["originator_id"])) for row in cursor.fetchall())
    return found


def _postgres(
    recorder: PostgresAggregateRecorder, lead_ids: list[UUID], condition: str
) -> set[UUID]:
    query = "SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s) "
    statement = SQL(query + condition).format(  # both parts are literals of this module
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(statement, [lead_ids])
        return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}
