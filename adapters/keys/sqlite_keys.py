"""Lead keys in `<ledger>.keys.db` (mode 0600), beside the SQLite ledger."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from adapters.config.private_files import private_file, sqlite_files, tighten_existing
from adapters.keys.key_backends import TABLE, Rewrap, StoredKey, unavailable_as_operational


class SqliteKeyBackend:
    """secure_delete zeroes a destroyed or re-wrapped key's bytes in its page; the WAL is
    checkpointed and truncated after each erasure and re-wrap so no old copy survives there."""

    def __init__(self, path: Path) -> None:
        private_file(path)  # keys: readable by the service's user only
        tighten_existing(sqlite_files(path))
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._conn.isolation_level = None
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS leadledger_lead_keys "
                "(lead_id TEXT PRIMARY KEY, key BLOB, erased_at TEXT, kek TEXT)"
            )
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(leadledger_lead_keys)")}
            if "kek" not in columns:  # a keys file from before envelope encryption
                self._conn.execute("ALTER TABLE leadledger_lead_keys ADD COLUMN kek TEXT")

    @unavailable_as_operational
    def create(self, lead: str, key: StoredKey) -> StoredKey | None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO leadledger_lead_keys (lead_id, key, kek) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (lead, key.blob, key.kek),
            )
            row = self._conn.execute(
                "SELECT kek, key FROM leadledger_lead_keys WHERE lead_id = ?", (lead,)
            ).fetchone()
            return _stored(row[0], row[1])

    @unavailable_as_operational
    def create_many(self, keys: dict[str, StoredKey]) -> dict[str, StoredKey | None]:
        """Many leads' first keys in one transaction (a batch of new leads)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO leadledger_lead_keys (lead_id, key, kek) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(lead, key.blob, key.kek) for lead, key in keys.items()],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.fetch(list(keys))

    @unavailable_as_operational
    def fetch(self, leads: Sequence[str]) -> dict[str, StoredKey | None]:
        found: dict[str, StoredKey | None] = {}
        with self._lock:
            for i in range(0, len(leads), 500):
                chunk = leads[i : i + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT lead_id, kek, key FROM {TABLE} WHERE lead_id IN ({marks})"  # noqa: S608
                rows = self._conn.execute(query, chunk)
                found.update((lead, _stored(kek, key)) for lead, kek, key in rows)
        return found

    @unavailable_as_operational
    def destroy(self, lead: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO leadledger_lead_keys (lead_id, key, erased_at) VALUES (?, NULL, ?) "
                "ON CONFLICT (lead_id) DO UPDATE SET key = NULL, kek = NULL, "
                "erased_at = COALESCE(leadledger_lead_keys.erased_at, excluded.erased_at)",
                (lead, datetime.now(UTC).isoformat()),
            )
            # Copy the zeroed page into the database file and empty the WAL (busy readers
            # may delay it: the next erasure's checkpoint finishes the job).
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @unavailable_as_operational
    def rewrap(self, change: Rewrap, skip_kek: str) -> int:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # no key is created meanwhile
            try:
                rows = self._conn.execute(
                    "SELECT lead_id, kek, key FROM leadledger_lead_keys "
                    "WHERE key IS NOT NULL AND (kek IS NULL OR kek <> ?)",
                    (skip_kek,),
                ).fetchall()
                updates = [
                    (new.blob, new.kek, lead)
                    for lead, kek, key in rows
                    if (new := change(StoredKey(kek, bytes(key)))) is not None
                ]
                self._conn.executemany(
                    "UPDATE leadledger_lead_keys SET key = ?, kek = ? WHERE lead_id = ?", updates
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if updates:
                # Rewrite the file from its live rows (no old value left in a free page or
                # an overflow page), then empty the WAL.
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return len(updates)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _stored(kek: str | None, key: bytes | None) -> StoredKey | None:
    return None if key is None else StoredKey(kek, bytes(key))
