"""The event store: an eventsourcing Application holding Lead aggregates."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application

from adapters.database_url import DatabaseURL
from domain.delivery import UnhandledDelivery
from domain.lead import Lead


class LedgerStore(Application[UUID]):
    """Leads and unhandled deliveries, in one notification log (the ledger's order)."""

    name = "leadledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Lead: 100}
    env: ClassVar[dict[str, str]] = {
        # A small cache with fast-forward makes the next delivery's load cheap and still
        # correct when several processes write (fast-forward reads newer events).
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }


def open_store(url: DatabaseURL) -> LedgerStore:
    if url.kind == "sqlite":
        assert url.path is not None
        url.path.parent.mkdir(parents=True, exist_ok=True)
    if url.kind == "postgres" and url.schema:
        _ensure_schema(url)
    return LedgerStore(env=url.eventsourcing_env())


def _ensure_schema(url: DatabaseURL) -> None:
    with url.connect_postgres() as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')


__all__ = ["LedgerStore", "UnhandledDelivery", "open_store"]
