"""eventsourcing's PostgreSQL recorder, inserting without psycopg's pipeline mode.

Why (docs/reliability.md, gap 6): upstream `insert_events` sends LOCK TABLE, NOTIFY and
one INSERT carrying every event as a single array parameter inside `conn.pipeline()`,
then `Pipeline.sync()`. psycopg's pipeline loop (`generators.pipeline_communicate`, Python
and C alike, 3.3.9) stops writing once its last command is queued, even when libpq's
`flush()` says bytes are still unsent; `sync()` then only waits for results. When the
INSERT is larger than the socket takes at once - megabytes for thousands of events, while
the server is not reading (waiting for the table lock, busy with the statements before) -
its tail never leaves the client: the server waits in ClientRead for the rest of the
message with the table's EXCLUSIVE lock held, the client waits for an answer, forever.
Every other writer then waits on the lock. Outside pipeline mode psycopg flushes each
statement completely before waiting (`generators.send`), so the same transaction always
completes; it costs a few more round trips per transaction, well under a millisecond on
a local network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

TOPIC = "adapters.eventstore.pg_recorder:FlushingPostgresRecorder"


class FlushingPostgresRecorder(PostgresApplicationRecorder):
    """The same statements in the same transaction as upstream, sent one at a time."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None  # as upstream
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            # LOCK TABLE (serialises notification ids), NOTIFY, then the INSERT ... RETURNING.
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
