"""One setting chooses the store: memory://, sqlite:///path or postgresql://…"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from adapters.config.workspaces import ConfigError
from adapters.eventstore.pg_recorder import TOPIC as PG_RECORDER_TOPIC


@dataclass(frozen=True)
class DatabaseURL:
    kind: str  # "memory" | "sqlite" | "postgres"
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "leadledger"
    schema: str | None = None

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "memory":
            return cls(kind="memory")
        if scheme == "sqlite":
            # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
            raw = url.split(":///", 1)[1] if ":///" in url else ""
            if not raw:
                raise ConfigError("sqlite URL needs a file path: sqlite:///data/leadledger.db")
            return cls(kind="sqlite", path=Path(raw.split("?", 1)[0]))
        if scheme in ("postgres", "postgresql"):
            query = parse_qs(parts.query)
            return cls(
                kind="postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                dbname=(parts.path or "/").lstrip("/") or "leadledger",
                schema=query.get("schema", [None])[0],
            )
        raise ConfigError(f"unsupported database URL scheme {parts.scheme!r}")

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.kind == "sqlite":
            assert self.path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": "2",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            # Inserts outside psycopg's pipeline mode, which can stall a large one forever
            # holding the table lock (adapters/eventstore/pg_recorder.py).
            "APPLICATION_RECORDER_TOPIC": PG_RECORDER_TOPIC,
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def connect_postgres(self) -> psycopg.Connection[tuple[object, ...]]:
        """A plain autocommit connection (schema DDL, advisory locks, LISTEN)."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def sqlalchemy_url(self) -> str:
        """The read models' URL: same PostgreSQL database; a sibling file for SQLite."""
        if self.kind == "memory":
            return "sqlite+pysqlite:///:memory:"
        if self.kind == "sqlite":
            assert self.path is not None
            return f"sqlite+pysqlite:///{self.path.with_suffix('.views.db')}"
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{self.dbname}"
