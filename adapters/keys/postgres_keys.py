"""Lead keys in PostgreSQL: a table of its own beside the ledger (leave it out of ledger
dumps, docs/erasure.md)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

from psycopg import sql

from adapters.eventstore.database_url import DatabaseURL
from adapters.keys.key_backends import TABLE, Rewrap, StoredKey, unavailable_as_operational


class PostgresKeyBackend:
    """PostgreSQL keeps an updated row's old version until VACUUM: each erasure and each
    re-wrap vacuums the table (see docs/erasure.md on WAL archives)."""

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.table = sql.Identifier(url.schema, TABLE) if url.schema else sql.Identifier(TABLE)
        self._lock = threading.Lock()
        self._conn = url.connect_postgres()
        with self._lock:
            self._conn.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {t} "
                    "(lead_id TEXT PRIMARY KEY, key BYTEA, erased_at TIMESTAMPTZ, kek TEXT)"
                )
            )
            self._conn.execute(self._sql("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS kek TEXT"))

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(t=self.table)

    def _execute(self, template: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self.url.connect_postgres()
            cursor = self._conn.execute(self._sql(template), params)
            return cursor.fetchall() if cursor.description else []

    @unavailable_as_operational
    def create(self, lead: str, key: StoredKey) -> StoredKey | None:
        self._execute(
            "INSERT INTO {t} (lead_id, key, kek) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (lead, key.blob, key.kek),
        )
        rows = self._execute("SELECT kek, key FROM {t} WHERE lead_id = %s", (lead,))
        return _stored(rows[0][0], rows[0][1])

    @unavailable_as_operational
    def create_many(self, keys: dict[str, StoredKey]) -> dict[str, StoredKey | None]:
        """Many leads' first keys in one statement (a batch of new leads)."""
        leads = list(keys)
        self._execute(
            "INSERT INTO {t} (lead_id, key, kek) "
            "SELECT * FROM unnest(%s::text[], %s::bytea[], %s::text[]) ON CONFLICT DO NOTHING",
            (leads, [keys[lead].blob for lead in leads], [keys[lead].kek for lead in leads]),
        )
        return self.fetch(leads)

    @unavailable_as_operational
    def fetch(self, leads: Sequence[str]) -> dict[str, StoredKey | None]:
        rows = self._execute(
            "SELECT lead_id, kek, key FROM {t} WHERE lead_id = ANY(%s)", (list(leads),)
        )
        return {str(lead): _stored(kek, key) for lead, kek, key in rows}

    @unavailable_as_operational
    def destroy(self, lead: str) -> None:
        self._execute(
            "INSERT INTO {t} AS k (lead_id, key, erased_at) VALUES (%s, NULL, now()) "
            "ON CONFLICT (lead_id) DO UPDATE SET key = NULL, kek = NULL, "
            "erased_at = COALESCE(k.erased_at, excluded.erased_at)",
            (lead,),
        )
        self._execute("VACUUM {t}")

    @unavailable_as_operational
    def rewrap(self, change: Rewrap, skip_kek: str) -> int:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self.url.connect_postgres()
            with self._conn.transaction():
                # Readers go on; a key created meanwhile waits and is wrapped after us.
                self._conn.execute(self._sql("LOCK TABLE {t} IN EXCLUSIVE MODE"))
                rows = self._conn.execute(
                    self._sql(
                        "SELECT lead_id, kek, key FROM {t} "
                        "WHERE key IS NOT NULL AND (kek IS NULL OR kek <> %s)"
                    ),
                    (skip_kek,),
                ).fetchall()
                updates = [
                    (new.blob, new.kek, lead)
                    for lead, kek, key in rows
                    if (stored := _stored(kek, key)) is not None
                    and (new := change(stored)) is not None
                ]
                with self._conn.cursor() as cursor:
                    cursor.executemany(
                        self._sql("UPDATE {t} SET key = %s, kek = %s WHERE lead_id = %s"), updates
                    )
            if updates:
                self._conn.execute(self._sql("VACUUM {t}"))
            return len(updates)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _stored(kek: object, key: object) -> StoredKey | None:
    if key is None:
        return None
    return StoredKey(None if kek is None else str(kek), bytes(cast(bytes, key)))
