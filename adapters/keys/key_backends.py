"""Where lead keys live: a dict (memory://), a sibling SQLite file, or a PostgreSQL table.

Rows are (lead_id, key): a NULL key is a tombstone (the lead was erased). `fetch` answers
only for leads that have a row: bytes for a live key, None for a tombstone.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar, cast

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import sql

from adapters.eventstore.database_url import DatabaseURL

TABLE = "leadledger_lead_keys"
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _unavailable_as_operational(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A key store that can't be reached is the ledger unavailable: raise the store's own
    OperationalError, which the API answers with 503 + Retry-After (never a 500)."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except (sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise OperationalError(f"key store unavailable: {e}") from e

    return wrapper


class KeyBackend(Protocol):
    def create(self, lead: str, key: bytes) -> bytes | None: ...
    def create_many(self, keys: dict[str, bytes]) -> dict[str, bytes | None]: ...
    def fetch(self, leads: Sequence[str]) -> dict[str, bytes | None]: ...
    def destroy(self, lead: str) -> None: ...
    def close(self) -> None: ...


class MemoryKeyBackend:
    def __init__(self) -> None:
        self.rows: dict[str, bytes | None] = {}
        self._lock = threading.Lock()

    def create(self, lead: str, key: bytes) -> bytes | None:
        with self._lock:
            return self.rows.setdefault(lead, key)

    def create_many(self, keys: dict[str, bytes]) -> dict[str, bytes | None]:
        with self._lock:
            return {lead: self.rows.setdefault(lead, key) for lead, key in keys.items()}

    def fetch(self, leads: Sequence[str]) -> dict[str, bytes | None]:
        with self._lock:
            return {lead: self.rows[lead] for lead in leads if lead in self.rows}

    def destroy(self, lead: str) -> None:
        with self._lock:
            self.rows[lead] = None

    def close(self) -> None:
        pass


class SqliteKeyBackend:
    """`<ledger>.keys.db`: secure_delete zeroes a destroyed key's bytes in its page; the
    WAL is checkpointed and truncated after each erasure so no old copy survives there."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)  # keys: readable by the service's user only
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._conn.isolation_level = None
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS leadledger_lead_keys "
                "(lead_id TEXT PRIMARY KEY, key BLOB, erased_at TEXT)"
            )

    @_unavailable_as_operational
    def create(self, lead: str, key: bytes) -> bytes | None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO leadledger_lead_keys (lead_id, key) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (lead, key),
            )
            row = self._conn.execute(
                "SELECT key FROM leadledger_lead_keys WHERE lead_id = ?", (lead,)
            )
            found: bytes | None = row.fetchone()[0]
            return found

    @_unavailable_as_operational
    def create_many(self, keys: dict[str, bytes]) -> dict[str, bytes | None]:
        """Many leads' first keys in one transaction (a batch of new leads)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO leadledger_lead_keys (lead_id, key) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    list(keys.items()),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.fetch(list(keys))

    @_unavailable_as_operational
    def fetch(self, leads: Sequence[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        with self._lock:
            for i in range(0, len(leads), 500):
                chunk = leads[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT lead_id, key FROM leadledger_lead_keys WHERE lead_id IN ({marks})",  # noqa: S608
                    chunk,
                )
                found.update(rows.fetchall())
        return found

    @_unavailable_as_operational
    def destroy(self, lead: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO leadledger_lead_keys (lead_id, key, erased_at) VALUES (?, NULL, ?) "
                "ON CONFLICT (lead_id) DO UPDATE SET key = NULL, "
                "erased_at = COALESCE(leadledger_lead_keys.erased_at, excluded.erased_at)",
                (lead, datetime.now(UTC).isoformat()),
            )
            # Copy the zeroed page into the database file and empty the WAL (busy readers
            # may delay it: the next erasure's checkpoint finishes the job).
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresKeyBackend:
    """A table of its own beside the ledger. PostgreSQL keeps an updated row's old version
    until VACUUM: each erasure vacuums the table (see docs/erasure.md on WAL archives)."""

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.table = sql.Identifier(url.schema, TABLE) if url.schema else sql.Identifier(TABLE)
        self._lock = threading.Lock()
        self._conn = url.connect_postgres()
        with self._lock:
            self._conn.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {t} "
                    "(lead_id TEXT PRIMARY KEY, key BYTEA, erased_at TIMESTAMPTZ)"
                )
            )

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(t=self.table)

    def _execute(self, template: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self.url.connect_postgres()
            cursor = self._conn.execute(self._sql(template), params)
            return cursor.fetchall() if cursor.description else []

    @_unavailable_as_operational
    def create(self, lead: str, key: bytes) -> bytes | None:
        self._execute(
            "INSERT INTO {t} (lead_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (lead, key),
        )
        rows = self._execute("SELECT key FROM {t} WHERE lead_id = %s", (lead,))
        return _bytes(rows[0][0])

    @_unavailable_as_operational
    def create_many(self, keys: dict[str, bytes]) -> dict[str, bytes | None]:
        """Many leads' first keys in one statement (a batch of new leads)."""
        leads = list(keys)
        self._execute(
            "INSERT INTO {t} (lead_id, key) SELECT * FROM unnest(%s::text[], %s::bytea[]) "
            "ON CONFLICT DO NOTHING",
            (leads, [keys[lead] for lead in leads]),
        )
        return self.fetch(leads)

    @_unavailable_as_operational
    def fetch(self, leads: Sequence[str]) -> dict[str, bytes | None]:
        rows = self._execute("SELECT lead_id, key FROM {t} WHERE lead_id = ANY(%s)", (list(leads),))
        return {str(lead): _bytes(key) for lead, key in rows}

    @_unavailable_as_operational
    def destroy(self, lead: str) -> None:
        self._execute(
            "INSERT INTO {t} AS k (lead_id, key, erased_at) VALUES (%s, NULL, now()) "
            "ON CONFLICT (lead_id) DO UPDATE SET key = NULL, "
            "erased_at = COALESCE(k.erased_at, excluded.erased_at)",
            (lead,),
        )
        self._execute("VACUUM {t}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _bytes(value: object) -> bytes | None:
    return None if value is None else bytes(cast(bytes, value))


def key_backend_for(url: DatabaseURL) -> KeyBackend:
    if url.kind == "sqlite":
        assert url.path is not None
        return SqliteKeyBackend(url.path.with_suffix(".keys.db"))
    if url.kind == "postgres":
        return PostgresKeyBackend(url)
    return MemoryKeyBackend()
