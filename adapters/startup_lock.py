"""Serialise start-up DDL across processes: `serve --workers N` starts N processes at once,
and PostgreSQL's CREATE … IF NOT EXISTS is not safe against a concurrent twin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from adapters.database_url import DatabaseURL

_LOCK_KEY = 0x1EAD1ED6  # any fixed 32-bit number: leadledger's start-up lock


@contextmanager
def startup_lock(url: DatabaseURL) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while creating tables; a no-op elsewhere (SQLite's own
    write lock already serialises its DDL)."""
    if url.kind != "postgres":
        yield
        return
    with psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password,
        dbname=url.dbname,
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
