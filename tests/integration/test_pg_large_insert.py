"""A large insert on PostgreSQL completes even when the server stops reading meanwhile.

The stall of docs/reliability.md gap 6, reproduced at its cause: the INSERT carrying a
transaction's events is one message of several MB; while the server waits for the
events table's lock (held here by another session for a moment) it reads nothing, the
socket fills, and eventsourcing's pipelined insert left the message's tail unsent in
libpq's buffer for ever - the server in ClientRead holding the lock, the client waiting
for an answer (adapters/eventstore/pg_recorder.py). Without pipeline mode the tail is
sent once the lock is granted and the insert commits.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from tests.conftest import PG_DSN, _drop_schema, require_postgres

EVENTS = 5000
STATE_BYTES = 2048  # ~10 MB in one INSERT: more than the sockets buffer between the two
LOCK_HELD_SECONDS = 2.0
COMPLETES_WITHIN_SECONDS = 60.0  # it takes about a second once the lock is free


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    schema = f"ll_test_{uuid.uuid4().hex[:12]}"
    yield schema
    _terminate_sessions_in(schema)  # a stalled insert would keep its lock and session
    _drop_schema(schema)


def _sessions_in(schema: str) -> list[tuple[object, ...]]:
    """(state, wait_event) of the sessions whose last statement names `schema`."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        return conn.execute(
            "SELECT state, wait_event FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE %s",
            (f"%{schema}%",),
        ).fetchall()


def _terminate_sessions_in(schema: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE %s",
            (f"%{schema}%",),
        )


@pytest.mark.postgres
def test_a_large_insert_commits_after_waiting_for_the_table_lock(pg_schema: str) -> None:
    store = open_store(DatabaseURL.parse(f"{PG_DSN}?schema={pg_schema}"))
    events = [
        StoredEvent(uuid.uuid4(), 1, "tests.large:Event", bytes([i % 251]) * STATE_BYTES)
        for i in range(EVENTS)
    ]
    outcome: list[object] = []

    def insert() -> None:
        try:
            outcome.append(store.recorder.insert_events(events))
        except Exception as exc:
            outcome.append(exc)

    writer = threading.Thread(target=insert, name="large-insert", daemon=True)
    try:
        with psycopg.connect(PG_DSN) as holder:  # a transaction: the lock lasts until commit
            holder.execute(f'LOCK TABLE "{pg_schema}"."leadledger_events" IN EXCLUSIVE MODE')
            started = time.monotonic()
            writer.start()
            time.sleep(LOCK_HELD_SECONDS)
        writer.join(COMPLETES_WITHIN_SECONDS)
        seconds = time.monotonic() - started
        print(f"{EVENTS} events ({EVENTS * STATE_BYTES / 1e6:.0f} MB) inserted in {seconds:.1f} s")
        assert not writer.is_alive(), (
            f"the insert is still waiting after {seconds:.0f} s; its session: "
            f"{_sessions_in(pg_schema)}"
        )
        [ids] = outcome
        assert isinstance(ids, list), ids
        assert len(ids) == EVENTS
        assert store.recorder.max_notification_id() == EVENTS
    finally:
        if writer.is_alive():  # stalled: end its session so the store can close
            _terminate_sessions_in(pg_schema)
            writer.join(10)
        store.close()
