"""The read models' SQLAlchemy engine: a SQLite file beside the ledger, or PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from adapters.config.private_files import private_file, sqlite_files, tighten_existing
from adapters.eventstore.database_url import DatabaseURL
from adapters.sqlite_wal import truncate_wal


@dataclass(frozen=True)
class Engines:
    """`write` serialises writers (projectors, rebuild swaps); `read` serves queries."""

    write: Engine
    read: Engine
    scratch: Path | None = None  # a temporary views file to delete on dispose

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()
        if self.scratch is not None:
            shutil.rmtree(self.scratch.parent, ignore_errors=True)


def make_engines(url: DatabaseURL, views_url: str | None = None) -> Engines:
    target = views_url or url.sqlalchemy_url()
    scratch: Path | None = None
    if url.kind == "memory" and views_url is None:
        # A throwaway file, not SQLite's shared-cache memory mode: that one uses table
        # locks which fail at once ("table is locked") instead of waiting.
        scratch = Path(tempfile.mkdtemp(prefix="leadledger-views-")) / "views.db"
        target = f"sqlite+pysqlite:///{scratch}"
    if target.startswith("sqlite"):
        _private_views_file(target)
        return Engines(
            _sqlite_engine(target, "BEGIN IMMEDIATE"), _sqlite_engine(target, "BEGIN"), scratch
        )
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if url.schema:
        connect_args["options"] = f"-c search_path={url.schema}"
    engine = create_engine(
        target, connect_args=connect_args, pool_pre_ping=True, pool_size=5, max_overflow=10
    )
    return Engines(engine, engine)


def _private_views_file(target: str) -> None:
    """The views hold phones and names: their file (and so its -wal and -shm, which SQLite
    creates with the file's mode) is the service user's only."""
    path = target.split(":///", 1)[1].split("?", 1)[0] if ":///" in target else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        private_file(Path(path))
        tighten_existing(sqlite_files(Path(path)))


def _sqlite_engine(target: str, begin: str) -> Engine:
    engine = create_engine(target, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Own transaction control: pysqlite's implicit BEGIN would defer the write lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten rows are zeroed, so an erased lead's old rows do not
        # linger in free space (docs/erasure.md); checkpoint_wal empties the WAL.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers BEGIN IMMEDIATE: take the write lock up front, so concurrent projectors
        # queue (busy_timeout) instead of failing on a lock upgrade. Readers never block.
        conn.exec_driver_sql(begin)

    return engine


def checkpoint_wal(engines: Engines) -> None:
    """Copy the WAL into the SQLite views file and truncate it (after an erasure: the WAL
    still holds the pages as they were before the blanking). No-op on PostgreSQL."""
    truncate_wal(engines.write)
