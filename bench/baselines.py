"""The two yardsticks the ingest benchmark measures leadledger against, as ASGI apps.

* `bare_app`: the ceiling. POST /webhook/kapso reads the body and answers 200; nothing
  else. No server can answer a webhook faster under the same uvicorn settings.
* `plain_table_app`: the seed's approach. It verifies the Kapso signature (HMAC-SHA256,
  as leadledger does: an unsigned webhook endpoint would not be a fair rival), parses the
  JSON, and for each message (single or batched) upserts a contact row by phone and
  inserts a message row with ON CONFLICT (message_id) DO NOTHING, all in one transaction
  per request, then answers a small JSON body. No phone normalisation, no validation, no
  history, no views. SQLite runs in WAL mode with synchronous=FULL, busy_timeout 30 s:
  the durability of leadledger's ledger file (eventsourcing's SQLite recorder leaves
  synchronous at SQLite's default, FULL). PostgreSQL uses a pool of 10 connections per
  worker and the default synchronous_commit=on, like the ledger.

Both are served by `python -m bench.baselines {bare|plain} --port P --workers N` with the
flags `leadledger serve` gives uvicorn (see api/cli/main.py). The database comes from
LEADLEDGER_DATABASE_URL, the secret from LEADLEDGER_KAPSO_WEBHOOK_SECRET.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.eventstore.database_url import DatabaseURL
from api.logging_setup import log_config

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS contacts (phone TEXT PRIMARY KEY, name TEXT, "
    "last_message_at TEXT, messages INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS messages (id BIGINT PRIMARY KEY, message_id TEXT NOT NULL, "
    "phone TEXT NOT NULL, direction TEXT, body TEXT, sent_at TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_message_id ON messages (message_id)",
)
UPSERT_CONTACT = (
    "INSERT INTO contacts (phone, name, last_message_at, messages) VALUES (%s, %s, %s, 1) "
    "ON CONFLICT (phone) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), "
    "last_message_at = excluded.last_message_at, messages = contacts.messages + 1"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (message_id, phone, direction, body, sent_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING"
)


async def bare(request: Request) -> Response:
    await request.body()
    return Response(b'{"ok":true}', media_type="application/json")


def rows_of(body: Any) -> list[tuple[str, str | None, str, str, str, str]]:
    """(phone, contact name, message id, direction, text, timestamp) per delivered message."""
    rows = []
    for element in body.get("data") or [body]:
        message, conversation = element["message"], element["conversation"]
        kapso = message.get("kapso") or {}
        contact = conversation.get("kapso") or {}
        rows.append(
            (
                conversation["phone_number"],
                contact.get("contact_name") or contact.get("contactName"),
                message["id"],
                kapso.get("direction", "inbound"),
                kapso.get("content") or "",
                message.get("timestamp", ""),
            )
        )
    return rows


class PlainTable:
    """One transaction per request: upsert the contact, insert the message once."""

    def __init__(self, url: DatabaseURL, secret: str) -> None:
        self.url = url
        self.secret = secret.encode()
        self.local = threading.local()
        self.pool: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
        if url.kind == "postgres":
            for _ in range(10):
                self.pool.put(self._pg_connect())
        with self.connection() as (conn, _):
            for statement in SCHEMA:
                conn.execute(statement.replace("BIGINT PRIMARY KEY", self._serial()))

    def _serial(self) -> str:
        return "BIGSERIAL PRIMARY KEY" if self.url.kind == "postgres" else "INTEGER PRIMARY KEY"

    def _pg_connect(self) -> psycopg.Connection[Any]:
        conn = self.url.connect_postgres()
        if self.url.schema:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.url.schema}"')
            conn.execute(f'SET search_path TO "{self.url.schema}"')
        return conn

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            assert self.url.path is not None
            conn = sqlite3.connect(self.url.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self.local.conn = conn
        return conn

    @contextmanager
    def connection(self) -> Iterator[tuple[Any, Callable[[str], str]]]:
        """A connection and the placeholder translation for its driver."""
        if self.url.kind == "postgres":
            conn = self.pool.get()
            try:
                yield conn, lambda sql: sql
            finally:
                self.pool.put(conn)
        else:
            yield self._sqlite(), lambda sql: sql.replace("%s", "?")

    def record(self, raw: bytes, signature: str) -> tuple[int, dict[str, Any]]:
        # Three steps, one function each: the CPU budget (bench.budget) names them.
        if not self.verified(raw, signature):
            return 401, {"error": "invalid signature"}
        try:
            rows = self.parsed(raw)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 422, {"error": f"bad payload: {exc!r}"}
        inserted = self.write(rows)
        return 200, {"inserted": inserted, "duplicates": len(rows) - inserted}

    def verified(self, raw: bytes, signature: str) -> bool:
        expected = hmac.new(self.secret, raw, hashlib.sha256).hexdigest().encode()
        return hmac.compare_digest(expected, signature.lower().encode())

    def parsed(self, raw: bytes) -> list[tuple[str, str | None, str, str, str, str]]:
        return rows_of(json.loads(raw))

    def write(self, rows: list[tuple[str, str | None, str, str, str, str]]) -> int:
        inserted = 0
        with self.connection() as (conn, sql):
            conn.execute("BEGIN IMMEDIATE" if self.url.kind == "sqlite" else "BEGIN")
            try:
                for phone, name, message_id, direction, text, timestamp in rows:
                    conn.execute(sql(UPSERT_CONTACT), (phone, name, timestamp))
                    cursor = conn.execute(
                        sql(INSERT_MESSAGE), (message_id, phone, direction, text, timestamp)
                    )
                    inserted += cursor.rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return inserted


def plain_table_app() -> Starlette:
    table = PlainTable(
        DatabaseURL.parse(os.environ["LEADLEDGER_DATABASE_URL"]),
        os.environ["LEADLEDGER_KAPSO_WEBHOOK_SECRET"],
    )

    async def webhook(request: Request) -> Response:
        raw = await request.body()
        signature = request.headers.get("x-webhook-signature", "")
        status, answer = await run_in_threadpool(table.record, raw, signature)
        return JSONResponse(answer, status_code=status)

    return Starlette(routes=[Route("/webhook/kapso", webhook, methods=["POST"]), _health()])


def bare_app() -> Starlette:
    return Starlette(routes=[Route("/webhook/kapso", bare, methods=["POST"]), _health()])


def _health() -> Route:
    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Route("/healthz", healthz)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a baseline like `leadledger serve`.")
    parser.add_argument("app", choices=("bare", "plain"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    level = os.environ.get("LEADLEDGER_LOG_LEVEL", "warning")
    uvicorn.run(  # the same settings as api/cli/main.py's serve
        f"bench.baselines:{'bare_app' if args.app == 'bare' else 'plain_table_app'}",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=level,
        log_config=log_config(level),
        access_log=False,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
