"""A rebuild's fill on several cores: the leads split by lead-id hash, one partition per
process, each folding only its own leads' events with the shared writer.

This process folds partition 0 itself, workers (projections/rebuild_worker.py) the others.
On PostgreSQL each writes straight into the building generation, a tracking row per
partition (a killed rebuild resumes each partition). On SQLite, where writers take turns,
each writes its own scratch file without journal or fsync; when all reached the target,
one transaction copies them into the building generation. A killed SQLite fill starts its
parallel phase again (the scratch files are not trusted after a crash).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from adapters.eventstore.store import LedgerStore
from projections.rebuild_worker import Job, Sources, fill_partition, scratch_engine
from projections.source import head
from projections.tables import ViewTables
from projections.tracking import WHOLE, partitions, replace_rows, rows

Progress = Callable[[int, int], None]
MIN_EVENTS = 50_000  # below this, starting processes costs more than it saves


class WorkerFailedError(RuntimeError):
    """A rebuild worker process exited with an error (its stderr is above)."""


def fill_in_parallel(
    engine: Engine,
    store: LedgerStore,
    sources: Sources,
    tables: ViewTables,
    policy_text: str,
    workers: int,
    page_size: int,
    progress: Progress | None,
) -> None:
    """Fill `tables` (empty, or partitioned by an earlier attempt) up to the ledger head."""
    target = head(store)
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite:
        with engine.begin() as conn:
            found = set(rows(conn, tables)) - {WHOLE}
            if found:
                workers = next(iter(found)).count  # resume with the attempt's partitions
            else:
                replace_rows(conn, tables, workers, 0)
    jobs = [
        Job(
            sources,
            tables.generation,
            policy_text,
            partition,
            target,
            page_size,
            _scratch_path(engine, tables, partition.index) if sqlite else None,
        )
        for partition in partitions(workers)
    ]
    for job in jobs:
        if job.scratch is not None:
            job.scratch.unlink(missing_ok=True)
    reached = [0] * workers
    children = [_start(job, reached) for job in jobs[1:]]

    def report(at: int) -> None:
        reached[0] = at
        if progress is not None:
            progress(sum(reached) // workers, target)

    try:
        own = scratch_engine(jobs[0].scratch) if jobs[0].scratch is not None else engine
        try:
            fill_partition(jobs[0], store, own, report)
        finally:
            if own is not engine:
                own.dispose()
        while any(child.poll() is None for child, _ in children):
            report(reached[0])  # the others' progress, while they finish
            time.sleep(0.2)
        for child, reader in children:
            reader.join()
            if child.wait() != 0:
                raise WorkerFailedError(f"a rebuild worker exited with {child.returncode}")
        report(target)
        if sqlite:
            _merge(engine, tables, [j.scratch for j in jobs if j.scratch is not None], target)
        else:
            with engine.begin() as conn:
                replace_rows(conn, tables, 1, target)  # every partition is at the target
    finally:
        for child, _ in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        for job in jobs:
            if job.scratch is not None:
                job.scratch.unlink(missing_ok=True)


def _start(job: Job, reached: list[int]) -> tuple[subprocess.Popen[bytes], threading.Thread]:
    child = subprocess.Popen(
        [sys.executable, "-m", "projections.rebuild_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write(pickle.dumps(job))
    child.stdin.close()
    out = child.stdout

    def follow() -> None:
        for line in out:
            if line.startswith(b"at "):
                reached[job.partition.index] = int(line.split()[1])

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    return child, reader


def _scratch_path(engine: Engine, tables: ViewTables, index: int) -> Path:
    views = Path(engine.url.database or "")
    return views.with_name(f"{views.name}.rebuild-g{tables.generation}-p{index}")


def _merge(engine: Engine, tables: ViewTables, scratch: list[Path], target: int) -> None:
    """Copy every scratch file's rows into the building generation, and set its position,
    in one transaction (SQLite copies table to table without Python in between)."""
    raw = engine.raw_connection()  # ATTACH is refused inside a transaction: before BEGIN
    try:
        cursor = raw.cursor()
        names = [f"part{i}" for i in range(len(scratch))]
        for name, path in zip(names, scratch, strict=True):
            cursor.execute(f"ATTACH DATABASE ? AS {name}", (str(path),))
        cursor.execute("BEGIN IMMEDIATE")
        for table in tables.all:
            if table is tables.tracking:
                continue
            for name in names:
                cursor.execute(
                    f'INSERT INTO main."{table.name}" SELECT * FROM {name}."{table.name}"'  # noqa: S608
                )
        cursor.execute(f'DELETE FROM main."{tables.tracking.name}"')  # noqa: S608
        cursor.execute(
            f'INSERT INTO main."{tables.tracking.name}" (id, position) VALUES (1, ?)',  # noqa: S608
            (target,),
        )
        cursor.execute("COMMIT")
        for name in names:
            cursor.execute(f"DETACH DATABASE {name}")
        cursor.close()
    finally:
        raw.close()
