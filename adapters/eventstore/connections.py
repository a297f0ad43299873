"""The event store's connections after a storage fault: drop the stale ones, probe for writes.

SQLite opens a database file read-only when it cannot open it for writing (read-only file
or mount, immutable file) and never upgrades that connection: once the file is writable
again, only a connection opened afterwards can write. eventsourcing's pool keeps its idle
connections forever, so one opened during the fault would refuse every later write until
a restart (docs/reliability.md, "No recovery after the disk comes back").
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing

from eventsourcing.sqlite import SQLiteConnectionPool

from adapters.eventstore.store import LedgerStore

log = logging.getLogger("leadledger.eventstore")

PROBE_TIMEOUT_SECONDS = 1.0


def discard_idle_connections(store: LedgerStore) -> int:
    """Close the SQLite pool's idle connections - the one a failed write used is back
    among them by then - so the next use opens fresh ones. Returns how many were closed;
    no-op on other stores and on an in-memory SQLite database (closing would lose it)."""
    pool = _sqlite_pool(store)
    if pool is None or pool.is_sqlite_memory_mode:
        return 0
    # eventsourcing's pool has no public "drop idle connections": take them from its idle
    # deque under the same condition its get/put use, so nobody is handed one meanwhile.
    with pool._put_condition:
        idle = list(pool._pool)
        pool._pool.clear()
    for connection in idle:
        connection.close()
    if idle:
        log.info("closed %d idle SQLite connection(s) after a write failure", len(idle))
    return len(idle)


def probe_writable(store: LedgerStore) -> bool:
    """Could a write transaction start now? A fresh SQLite connection takes the write lock
    and lets it go (BEGIN IMMEDIATE, ROLLBACK): it fails on a read-only or immutable file.
    A lock held by another writer counts as writable. Other stores: True (their own
    queries tell whether the server answers)."""
    pool = _sqlite_pool(store)
    if pool is None:
        return True
    try:
        with closing(
            sqlite3.connect(pool.db_name, uri=True, timeout=PROBE_TIMEOUT_SECONDS)
        ) as probe:
            probe.isolation_level = None
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.Error:
        return False
    return True


def _sqlite_pool(store: LedgerStore) -> SQLiteConnectionPool | None:
    datastore = getattr(store.recorder, "datastore", None)
    pool = getattr(datastore, "pool", None)
    return pool if isinstance(pool, SQLiteConnectionPool) else None
