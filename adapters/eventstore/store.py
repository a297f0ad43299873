"""The event store: an eventsourcing Application holding Lead aggregates."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Mapper, Recording
from eventsourcing.utils import Environment, EnvType

from adapters.config.private_files import (
    private_dir,
    private_file,
    sqlite_files,
    tighten_existing,
)
from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.sealing import SealingMapper
from adapters.keys.key_store import KeyStore
from adapters.keys.master_key_source import MasterKeySource, open_key_store
from domain.delivery import UnhandledDelivery
from domain.lead import Lead

log = logging.getLogger("leadledger.eventstore")
CommitHook = Callable[[Sequence[Recording[UUID]]], None]


class LedgerStore(Application[UUID]):
    """Leads and unhandled deliveries, in one notification log (the ledger's order).

    Personal fields are sealed with per-lead keys held by `keys`, outside the event store
    (docs/erasure.md); a store built without one keeps its keys in memory."""

    name = "leadledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Lead: 100}
    env: ClassVar[dict[str, str]] = {
        # A small cache with fast-forward makes the next delivery's load cheap and still
        # correct when several processes write (fast-forward reads newer events).
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }

    def __init__(self, env: dict[str, str] | None = None, keys: KeyStore | None = None) -> None:
        self.keys = keys or KeyStore()  # before super(): construct_mapper needs it
        # Called with each committed append's recordings (events still in memory, with
        # their ledger positions), in the appending thread (projections/inline.py).
        self.committed: list[CommitHook] = []
        self._bulk = threading.local()
        super().__init__(env=env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the given env (built from our settings): eventsourcing would also read the
        process environment, where LEADLEDGER_SQLITE_DBNAME, LEADLEDGER_PERSISTENCE_MODULE
        or a bare PERSISTENCE_MODULE would silently move the ledger away from the keys and
        the views."""
        chosen = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            chosen["IS_SNAPSHOTTING_ENABLED"] = "y"
        chosen.update(env or {})
        return Environment(name, chosen)

    def construct_mapper(self) -> Mapper[UUID]:
        return SealingMapper(
            transcoder=self.construct_transcoder(),
            cipher=self.factory.cipher(),
            compressor=self.factory.compressor(),
            keys=self.keys,
        )

    def save_leads(self, leads: list[Lead]) -> list[Recording[UUID]]:
        """`save(*leads)` without its per-object runtime Protocol checks (about 30 µs an
        aggregate, a tenth of a bulk import); the same steps in the same order."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for lead in leads:
            processing.events.extend(lead.collect_events())
            processing.aggregates[lead.id] = lead
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        self.notify(processing.events)  # deprecated upstream; kept as save() does
        return recordings

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Marks this thread's appends meanwhile as bulk (a chunk of a large request, an
        import): the commit hooks may leave their views to the background."""
        self._bulk.on = True
        try:
            yield
        finally:
            self._bulk.on = False

    def appending_bulk(self) -> bool:
        return bool(getattr(self._bulk, "on", False))

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """eventsourcing's hook after every save: the append is committed, so a hook's
        failure is logged, never raised into the writer."""
        for hook in self.committed:
            try:
                hook(recordings)
            except Exception:
                log.exception("a commit hook failed")

    def close(self) -> None:
        super().close()
        self.keys.close()

    def is_cached(self, lead_id: UUID) -> bool:
        """In the aggregate cache (a load would only fast-forward it)."""
        cache = self.repository.cache
        return cache is not None and lead_id in cache.cache

    def forget_cached(self, lead_id: UUID) -> None:
        """Drop a lead from the aggregate cache (after an erasure)."""
        cache = self.repository.cache
        if cache is not None:
            with suppress(KeyError):
                cache.get(lead_id, evict=True)


def open_store(url: DatabaseURL, master: MasterKeySource | None = None) -> LedgerStore:
    """The ledger of `url`, its lead keys wrapped under the master key of `master` (by
    default the one the environment's settings name)."""
    if url.kind == "sqlite":
        assert url.path is not None
        private_dir(url.path.parent)
        private_file(url.path)  # SQLite gives its -wal and -shm files the same mode
        tighten_existing(sqlite_files(url.path))
    if url.kind == "postgres" and url.schema:
        _ensure_schema(url)
    keys = open_key_store(url, master or MasterKeySource.for_settings(Settings(), url))
    try:
        return LedgerStore(env=url.eventsourcing_env(), keys=keys)
    except BaseException:
        keys.close()
        raise


def _ensure_schema(url: DatabaseURL) -> None:
    with url.connect_postgres() as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')


__all__ = ["LedgerStore", "UnhandledDelivery", "open_store"]
