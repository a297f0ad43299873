"""Which key backend a database URL means: the keys live beside the ledger, never in it."""

from __future__ import annotations

from adapters.eventstore.database_url import DatabaseURL
from adapters.keys.key_backends import KeyBackend, MemoryKeyBackend
from adapters.keys.postgres_keys import PostgresKeyBackend
from adapters.keys.sqlite_keys import SqliteKeyBackend


def key_backend_for(url: DatabaseURL) -> KeyBackend:
    if url.kind == "sqlite":
        assert url.path is not None
        return SqliteKeyBackend(url.path.with_suffix(".keys.db"))
    if url.kind == "postgres":
        return PostgresKeyBackend(url)
    return MemoryKeyBackend()
