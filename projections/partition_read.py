"""A partition's page of the ledger read on PostgreSQL with the partition's filter in SQL:
each projection process fetches (and sends over the wire) only its own leads' events, not
every row (projections/partitioned.py).

The page still ends where an unfiltered page would (the `limit`-th notification after
`after`, found on the primary key alone), so a partition's position moves past the
others' events and reaches the head like any other."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from projections.tracking import HASH_HEX_DIGITS, Partition


def select_partition(
    recorder: PostgresApplicationRecorder,
    after: int,
    limit: int,
    partition: Partition,
    until: int | None,
) -> tuple[Sequence[Notification], int]:
    """The partition's notifications after `after` in the next `limit` (up to `until`),
    and the last notification id the page covers."""
    table = SQL("{}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )
    end_sql = SQL(
        "SELECT max(notification_id) AS last FROM (SELECT notification_id FROM {} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT %s) AS page"
    ).format(table)
    # The lead id's low bits, as tracking.partition_of takes them.
    bits = f"('x' || right(originator_id::text, {HASH_HEX_DIGITS}))::bit({4 * HASH_HEX_DIGITS})"
    rows_sql = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "  # noqa: S608 - our constants
        "WHERE notification_id > %s AND notification_id <= %s "
        f"AND {bits}::int %% %s = %s ORDER BY notification_id"
    ).format(table)
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(end_sql, (after, limit), prepare=True)
        found = cursor.fetchone()
        last = after if found is None or found["last"] is None else int(found["last"])
        if until is not None:
            last = min(last, max(after, until))
        if last <= after:
            return [], after
        cursor.execute(rows_sql, (after, last, partition.count, partition.index), prepare=True)
        notifications = [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in cursor.fetchall()
        ]
    return notifications, last
