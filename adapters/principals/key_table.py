"""API keys in the database: a SQLite file beside the ledger (`<db>.apikeys.db`), a table in
the PostgreSQL schema the database URL names, or a throwaway SQLite file (memory://).

Only each key's SHA-256 is stored, never the key. A row is a principal: workspace, role,
name (the actor recorded), when it was created, last used, revoked, and when a rotated key
stops working (`expires_at`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    or_,
    select,
    update,
)

from adapters.config.private_files import private_file, sqlite_files, tighten_existing
from adapters.eventstore.database_url import DatabaseURL
from adapters.utc_datetime import UTCDateTime

TABLE = "leadledger_api_keys"
_metadata = MetaData()
keys = Table(
    TABLE,
    _metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("expires_at", UTCDateTime),  # set by a rotation: the end of its grace period
    Column("replaced_by", String(40)),
    Index("ix_api_keys_workspace", "workspace"),
)


@dataclass(frozen=True)
class StoredKey:
    id: str
    workspace: str
    role: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    replaced_by: str | None = None

    def valid_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


class KeyTable:
    """The stored keys. Every method is one short transaction."""

    def __init__(self, engine: Engine, scratch: Path | None = None) -> None:
        self.engine = engine
        self._scratch = scratch  # a temporary directory to delete on close (memory://)
        _metadata.create_all(engine)

    @classmethod
    def open(cls, database: DatabaseURL) -> KeyTable:
        if database.kind == "memory":
            # A file, not SQLite's :memory:, whose one connection threads would share.
            scratch = Path(tempfile.mkdtemp(prefix="leadledger-apikeys-"))
            return cls(_sqlite_engine(scratch / "apikeys.db"), scratch)
        if database.kind == "sqlite":
            assert database.path is not None
            return cls(_sqlite_engine(database.path.with_suffix(".apikeys.db")))
        return cls(_postgres_engine(database))

    def add(self, key: StoredKey, secret_sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(keys.insert().values(**_columns(key), secret_sha256=secret_sha256))

    def by_secret(self, secret_sha256: str) -> StoredKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(keys).where(keys.c.secret_sha256 == secret_sha256)).first()
        return None if row is None else _key(row._mapping)

    def by_id(self, key_id: str) -> StoredKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(keys).where(keys.c.id == key_id)).first()
        return None if row is None else _key(row._mapping)

    def all(self, workspace: str | None = None) -> list[StoredKey]:
        stmt = select(keys).order_by(keys.c.workspace, keys.c.created_at, keys.c.id)
        if workspace is not None:
            stmt = stmt.where(keys.c.workspace == workspace)
        with self.engine.connect() as conn:
            return [_key(row._mapping) for row in conn.execute(stmt)]

    def revoke(self, key_id: str, at: datetime) -> None:
        """Revoked at `at`, unless it already was (the first revocation stays)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(keys)
                .where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )

    def replace(self, old_id: str, new: StoredKey, secret_sha256: str, expires: datetime) -> None:
        """A rotation, in one transaction: the new key, and the old one's end of grace."""
        with self.engine.begin() as conn:
            conn.execute(keys.insert().values(**_columns(new), secret_sha256=secret_sha256))
            conn.execute(
                update(keys)
                .where(keys.c.id == old_id)
                .values(expires_at=expires, replaced_by=new.id)
            )

    def touch(self, key_id: str, at: datetime, interval: timedelta) -> None:
        """Record a use, unless one was recorded less than `interval` ago (by any process):
        a key used on every request is written at most once per interval."""
        with self.engine.begin() as conn:
            conn.execute(
                update(keys)
                .where(
                    keys.c.id == key_id,
                    or_(keys.c.last_used_at.is_(None), keys.c.last_used_at < at - interval),
                )
                .values(last_used_at=at)
            )

    def close(self) -> None:
        self.engine.dispose()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _columns(key: StoredKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "workspace": key.workspace,
        "role": key.role,
        "name": key.name,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "expires_at": key.expires_at,
        "replaced_by": key.replaced_by,
    }


def _key(row: Any) -> StoredKey:
    return StoredKey(**{name: row[name] for name in StoredKey.__dataclass_fields__})


def _sqlite_engine(path: Path) -> Engine:
    private_file(path)  # API key hashes and names: the service user's only
    tighten_existing(sqlite_files(path))
    engine = create_engine(
        f"sqlite+pysqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def _postgres_engine(database: DatabaseURL) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if database.schema:
        connect_args["options"] = f"-c search_path={database.schema}"
    return create_engine(
        database.sqlalchemy_url(), connect_args=connect_args, pool_pre_ping=True, pool_size=2
    )
