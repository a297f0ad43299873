"""One partition of a parallel rebuild (projections/parallel_fill.py), in its own process.

Run as `python -m projections.rebuild_worker`: reads its job (pickled, from the parent
over stdin), opens the ledger itself, folds the events of its leads (lead-id hash
partition) up to the job's target with the same writer as every other projection pass,
and prints its position after each page ("at N") for the parent's progress bar.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.schema import CreateTable

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore, open_store
from adapters.keys.master_key_source import MasterKeySource
from domain.policy import Policy
from projections.database import make_engines
from projections.source import read_page
from projections.state import policy_of
from projections.tables import ViewTables, view_tables
from projections.tracking import Partition, advance, position
from projections.writer import apply_page_isolating

# Each process's SQLite page cache: small, since the summed memory of all rebuild
# processes is what counts (the OS file cache serves the rest); pages of events per
# transaction are capped for the same reason (a page's objects are alive at once).
CACHE_KB = 8192
MAX_PAGE = 2000
# Lead keys cached per process while folding (the store's default is 20,000; each cached
# key is a cipher object): a lead's events recur through the ledger, and a miss costs one
# batched key query per page.
KEY_CACHE = 4000


@dataclass(frozen=True)
class Sources:
    """What a worker process opens: the ledger, its master key and the views' database."""

    database: DatabaseURL
    views_url: str | None
    master: MasterKeySource


@dataclass(frozen=True)
class Job:
    sources: Sources
    generation: int
    policy_text: str
    partition: Partition
    target: int
    page_size: int
    scratch: Path | None  # SQLite: this worker's own file; PostgreSQL: None (shared tables)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A rebuild allocates millions of short-lived objects: the cyclic collector's passes
    over everything already alive (modules, caches) cost it ~10%. Set those aside and
    collect less often, for the rebuild only."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def scratch_engine(path: Path) -> Engine:
    """A throwaway SQLite file only this worker writes: no journal, no fsync. A rebuild
    killed midway deletes it and starts its parallel phase again, so nothing here needs
    to survive a crash."""
    engine = create_engine(f"sqlite+pysqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KB}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def fill_partition(
    job: Job, store: LedgerStore, engine: Engine, report: Callable[[int], None]
) -> None:
    """The partition's events up to `job.target`, a transaction per page; on the shared
    PostgreSQL tables each page also moves the partition's tracking row (resumable)."""
    tables = view_tables(job.generation)
    policy = policy_of(job.policy_text)
    keys = store.keys
    before, keys.max_cached = keys.max_cached, min(keys.max_cached, KEY_CACHE)
    try:
        _fill(job, store, engine, report, tables, policy)
    finally:
        keys.max_cached = before


def _fill(
    job: Job,
    store: LedgerStore,
    engine: Engine,
    report: Callable[[int], None],
    tables: ViewTables,
    policy: Policy,
) -> None:
    with engine.begin() as conn:
        if job.scratch is not None:
            for table in tables.all:  # without secondary indexes: the merge's table has them
                conn.execute(CreateTable(table, if_not_exists=True))
        at = position(conn, tables, job.partition)
    while at < job.target:
        with engine.begin() as conn:
            page = min(job.page_size, MAX_PAGE)
            events, last = read_page(store, at, page, job.partition, job.target)
            apply_page_isolating(conn, tables, events, policy)
            advance(conn, tables, last, job.partition)
        at = last
        report(at)


def main() -> None:
    job: Job = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our own parent process
    store = open_store(job.sources.database, job.sources.master)
    if job.scratch is not None:
        engine = scratch_engine(job.scratch)
    else:
        engine = make_engines(job.sources.database, job.sources.views_url).write
    parent = os.getppid()

    def report(at: int) -> None:
        if os.getppid() != parent:  # the rebuild was killed: its next run starts over
            raise SystemExit(1)
        print(f"at {at}", flush=True)

    try:
        with fewer_collections():
            fill_partition(job, store, engine, report)
    finally:
        engine.dispose()
        store.close()


if __name__ == "__main__":
    main()
