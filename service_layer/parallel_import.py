"""One import split between worker processes (`leadledger import --jobs N`).

An import is CPU-bound Python (validating rows, applying them to aggregates, sealing and
encoding events), so threads share one core; processes use them all. Each worker opens its
own store and runs a `LegacyImport` over the rows it owns (adapters/legacy_import/shards.py):
all rows of one lead go to one worker, in file order, so the ledger is the one a single
process would write. Workers write their rejects to part files, merged in (file, line) order.

A worker that fails stops the others; what was committed stays, and running the same import
again appends only what is missing.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import IO, Any

from adapters.config.private_files import open_private
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.startup_lock import startup_lock
from adapters.eventstore.store import open_store
from adapters.legacy_import.mapping import LegacyMapping
from adapters.legacy_import.readers import Format, RawRow, Wanted, read_file
from adapters.legacy_import.report import Summary
from adapters.legacy_import.shards import Assignment, assign
from service_layer.ledger import Ledger
from service_layer.legacy_import import LegacyImport

PROGRESS_EVERY = 500  # rows between a worker's progress messages
Progress = Callable[[str, int], None]  # ("contacts" | "notes", rows done)


class ImportWorkerError(RuntimeError):
    """A worker process failed; the message carries its traceback's last line."""


@dataclass(frozen=True)
class ImportJob:
    """Everything a worker needs, picklable (workers are spawned, not forked)."""

    database_url: str
    workspace: str
    region: str
    mapping: LegacyMapping
    contacts: Path
    contacts_format: Format
    notes: Path | None
    notes_format: Format
    received_at: datetime  # one arrival time for the whole import, as in one process
    rejects: Path  # the merged file; workers write <rejects>.part<n>

    def part(self, shard: int) -> Path:
        return self.rejects.with_name(f"{self.rejects.name}.part{shard}")

    def importer(
        self,
        ledger: Ledger,
        rejects_out: IO[str],
        on_progress: Callable[[int], None],
        *,
        pipelined: bool = True,
    ) -> LegacyImport:
        """The importer of this job's rows (all of them, or one worker's share)."""
        return LegacyImport(
            ledger,
            self.workspace,
            self.region,
            self.mapping,
            rejects_out=rejects_out,
            on_progress=on_progress,
            received_at=self.received_at,
            pipelined=pipelined,
        )


def run_parallel(job: ImportJob, jobs: int, on_progress: Progress | None = None) -> Summary:
    context = multiprocessing.get_context("spawn")
    messages: Queue[tuple[Any, ...]] = context.Queue()
    assignments: Queue[Assignment] = context.Queue()
    workers = [
        context.Process(target=_worker, args=(job, shard, assignments, messages), daemon=True)
        for shard in range(jobs)
    ]
    with _main_module_not_rerun():
        for worker in workers:
            worker.start()
    try:
        # Computed while the workers start up (imports take a second or two).
        contacts = read_file(job.contacts, job.contacts_format)
        assignment = assign(contacts, _note_rows(job), jobs)
        for _ in workers:
            assignments.put(assignment)
        summaries = _collect(workers, messages, on_progress)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        _merge_rejects(job, jobs)  # also after a failure: what was rejected so far
    total = Summary()
    for summary in summaries:
        total.add(summary)
    return total


@contextmanager
def _main_module_not_rerun() -> Iterator[None]:
    """Spawned children import the parent's __main__ (here the `leadledger` script, so the
    whole CLI: about two seconds each) unless it has no file. Workers need none of it."""
    main = sys.modules["__main__"]
    path = getattr(main, "__file__", None)
    if path is not None and getattr(main, "__spec__", None) is None:
        del main.__file__
        try:
            yield
        finally:
            main.__file__ = path
    else:
        yield


def _collect(
    workers: Sequence[BaseProcess],
    messages: Queue[tuple[Any, ...]],
    on_progress: Progress | None,
) -> list[Summary]:
    summaries: list[Summary] = []
    while len(summaries) < len(workers):
        try:
            message = messages.get(timeout=1.0)
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:  # killed without a word (out of memory, SIGKILL)
                code = dead[0].exitcode
                raise ImportWorkerError(f"import worker exited with code {code}") from None
            continue
        kind = message[0]
        if kind == "progress" and on_progress is not None:
            on_progress(message[1], message[2])
        elif kind == "done":
            summaries.append(message[1])
        elif kind == "error":
            raise ImportWorkerError(message[1])
    return summaries


def _worker(
    job: ImportJob,
    shard: int,
    assignments: Queue[Assignment],
    messages: Queue[tuple[Any, ...]],
) -> None:
    try:
        messages.put(("done", _import_shard(job, shard, assignments, messages)))
    except BaseException as exc:  # reported to the parent, which stops the import
        last = traceback.format_exception_only(exc)[-1].strip()
        messages.put(("error", f"import worker {shard} failed: {last}"))


def _import_shard(
    job: ImportJob,
    shard: int,
    assignments: Queue[Assignment],
    messages: Queue[tuple[Any, ...]],
) -> Summary:
    ticks = _Ticks(messages)
    url = DatabaseURL.parse(job.database_url)
    with startup_lock(url):  # workers start together: their CREATE … IF NOT EXISTS must not race
        store = open_store(url)
    ledger = Ledger(store)
    ledger.close()  # this process is the only writer in it: write inline, no writer thread
    assignment = assignments.get()
    try:
        with open_private(job.part(shard)) as rejects:
            # As many workers as cores: a second (reading) thread per worker gains nothing.
            importer = job.importer(
                ledger, rejects, lambda n: ticks("contacts", n), pipelined=False
            )
            mine = assignment.contact_owned(shard)
            contacts = read_file(job.contacts, job.contacts_format, mine)
            summary = importer.run(contacts, _notes(job, assignment.note_owned(shard), ticks))
        ticks.flush()
        summary.rejects = []  # the part file has them; keep the message small
        return summary
    finally:
        ledger.close()
        store.close()


def _notes(job: ImportJob, mine: Wanted, ticks: _Ticks) -> Iterator[RawRow]:
    if job.notes is None:
        return
    for row in read_file(job.notes, job.notes_format, mine):
        yield row
        ticks("notes", 1)


def _note_rows(job: ImportJob) -> Iterator[RawRow]:
    return read_file(job.notes, job.notes_format) if job.notes else iter(())


class _Ticks:
    """Progress, batched: one queue message per PROGRESS_EVERY rows."""

    def __init__(self, messages: Queue[tuple[Any, ...]]) -> None:
        self.messages = messages
        self.pending: dict[str, int] = {}

    def __call__(self, what: str, n: int) -> None:
        self.pending[what] = self.pending.get(what, 0) + n
        if self.pending[what] >= PROGRESS_EVERY:
            self.messages.put(("progress", what, self.pending.pop(what)))

    def flush(self) -> None:
        for what, n in self.pending.items():
            self.messages.put(("progress", what, n))
        self.pending.clear()


def _merge_rejects(job: ImportJob, shards: int) -> None:
    """The workers' part files, merged into one in (file, line) order, contacts first."""
    order = {job.contacts.name: 0} | ({job.notes.name: 1} if job.notes else {})
    lines: list[tuple[int, int, str]] = []
    for shard in range(shards):
        part = job.part(shard)
        if part.exists():
            for text in part.read_text(encoding="utf-8").splitlines():
                entry = json.loads(text)
                lines.append((order.get(entry["file"], 2), entry["line"], text))
            part.unlink()
    lines.sort(key=lambda item: item[:2])
    with open_private(job.rejects) as out:
        out.writelines(text + "\n" for _, _, text in lines)
