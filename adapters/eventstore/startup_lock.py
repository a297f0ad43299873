"""Serialise start-up DDL across processes: `serve --workers N` starts N processes at once,
and PostgreSQL's CREATE … IF NOT EXISTS is not safe against a concurrent twin."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.config.private_files import private_dir, private_file
from adapters.eventstore.database_url import DatabaseURL

_LOCK_KEY = 0x1EAD1ED6  # any fixed 32-bit number: leadledger's start-up lock


@contextmanager
def startup_lock(url: DatabaseURL) -> Iterator[None]:
    """Hold a lock while opening the store and creating tables: a PostgreSQL advisory lock,
    or a file lock beside the SQLite file (switching to WAL and the first CREATE TABLEs
    fail with "database is locked" instead of waiting when processes race)."""
    if url.kind == "sqlite":
        assert url.path is not None
        private_dir(url.path.parent)
        lock_path = url.path.with_name(url.path.name + ".startup.lock")
        private_file(lock_path)
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if url.kind != "postgres":
        yield
        return
    with url.connect_postgres() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
