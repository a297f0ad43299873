"""The lead key rows as stored (SQLite keys file or PostgreSQL table), read directly, and
an old installation's layout (bare keys, no `kek` column) to test the upgrade with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters.eventstore.database_url import DatabaseURL
from adapters.keys.key_backends import StoredKey
from adapters.keys.keyring import Keyring

Rows = dict[str, tuple[str | None, bytes | None]]  # lead id -> (kek, key)


def keys_file(url: DatabaseURL) -> Path:
    assert url.path is not None
    return url.path.with_suffix(".keys.db")


def key_rows(url: DatabaseURL) -> Rows:
    if url.kind == "sqlite":
        with sqlite3.connect(keys_file(url)) as conn:
            found = conn.execute("SELECT lead_id, kek, key FROM leadledger_lead_keys")
            return {lead: (kek, None if key is None else bytes(key)) for lead, kek, key in found}
    with url.connect_postgres() as conn:
        found_pg = conn.execute(
            f'SELECT lead_id, kek, key FROM "{url.schema}".leadledger_lead_keys'
        ).fetchall()
        return {
            str(lead): (None if kek is None else str(kek), None if key is None else _raw(key))
            for lead, kek, key in found_pg
        }


def key_table_dump(url: DatabaseURL) -> bytes:
    """What a copy of the keys alone holds: the SQLite file (and its WAL), or every row
    of the PostgreSQL table as text and as raw bytes."""
    if url.kind == "sqlite":
        path = keys_file(url)
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    with url.connect_postgres() as conn:
        table = f'"{url.schema}".leadledger_lead_keys'
        text = conn.execute(f"SELECT t::text FROM {table} t").fetchall()
        raw = conn.execute(f"SELECT key FROM {table} WHERE key IS NOT NULL").fetchall()
    return b"\n".join([*(str(r[0]).encode() for r in text), *(_raw(r[0]) for r in raw)])


def bare_keys(url: DatabaseURL, keyring: Keyring) -> dict[str, bytes]:
    """Every live lead key, unwrapped (what the process's cache holds)."""
    return {
        lead: keyring.unwrap(StoredKey(kek, key))
        for lead, (kek, key) in key_rows(url).items()
        if key is not None
    }


def downgrade_to_bare_keys(url: DatabaseURL, keyring: Keyring) -> dict[str, bytes]:
    """Rewrite the keys as a version before envelope encryption kept them: bare, in a
    table without the `kek` column. The bare keys, by lead."""
    bare = bare_keys(url, keyring)
    if url.kind == "sqlite":
        with sqlite3.connect(keys_file(url)) as conn:
            conn.execute("DROP TABLE leadledger_lead_keys")
            conn.execute(
                "CREATE TABLE leadledger_lead_keys "
                "(lead_id TEXT PRIMARY KEY, key BLOB, erased_at TEXT)"
            )
            conn.executemany("INSERT INTO leadledger_lead_keys VALUES (?, ?, NULL)", bare.items())
        return bare
    with url.connect_postgres() as conn:
        table = f'"{url.schema}".leadledger_lead_keys'
        conn.execute(f"ALTER TABLE {table} DROP COLUMN kek")
        for lead, key in bare.items():
            conn.execute(f"UPDATE {table} SET key = %s WHERE lead_id = %s", (key, lead))
    return bare


def _raw(value: object) -> bytes:
    assert isinstance(value, bytes | memoryview), value
    return bytes(value)
