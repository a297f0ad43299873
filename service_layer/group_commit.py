"""Group commit: one writer thread turns many concurrent requests into few transactions.

Callers `submit()` a request and wait on its Future. The writer takes everything waiting
(up to `max_batch`) and hands it to `write_batch` in arrival order, which returns one
outcome per request - a result or the exception that request must see. No artificial
waiting: a batch grows by itself while the previous transaction commits.

`busy_for()` says how long the batch being written has been running: a writer stuck in
the database shows there (GET /readyz), whatever the callers' deadlines did.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")

log = logging.getLogger("leadledger.group_commit")


@dataclass
class _Pending(Generic[Request, Result]):
    request: Request
    future: Future[Result] = field(default_factory=Future)


_STOP = object()  # queued by close(): the writer finishes what came before it, then ends


class GroupCommitter(Generic[Request, Result]):
    """A lazily started daemon writer thread and the queue feeding it."""

    def __init__(
        self,
        write_batch: Callable[[Sequence[Request]], Sequence[Result | BaseException]],
        max_batch: int = 256,
        name: str = "group-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.write_batch = write_batch
        self.max_batch = max_batch
        self.name = name
        self.batches = 0  # write_batch calls made by the writer thread (observable in tests)
        self._queue: queue.SimpleQueue[_Pending[Request, Result] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._busy_since: float | None = None  # monotonic start of the batch being written

    def busy_for(self) -> float:
        """Seconds the writer has spent on its current batch (0 when idle)."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    @property
    def queued(self) -> int:
        """Requests waiting for the writer (not counting the batch being written)."""
        return self._queue.qsize()

    def submit(self, request: Request) -> Future[Result]:
        pending: _Pending[Request, Result] = _Pending(request)
        with self._lock:
            inline = self._closed or threading.current_thread() is self._thread
            if not inline:
                self._start()
                self._queue.put(pending)
        if inline:
            # After close() (a CLI or test still recording), or re-entered from the writer
            # itself (waiting on the queue there would deadlock): write it here, alone.
            self._write([pending])
        return pending.future

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, stop the writer; later submits are written by the caller."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s: writer still busy after %.0f s; left running", self.name, timeout)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self.batches += 1
            self._write([p for p in batch if isinstance(p, _Pending)])
            if stop:
                return

    def _write(self, batch: list[_Pending[Request, Result]]) -> None:
        # A request its caller cancelled before the writer got to it is not written.
        batch = [p for p in batch if p.future.set_running_or_notify_cancel()]
        if not batch:
            return
        self._busy_since = time.monotonic()
        try:
            outcomes = self.write_batch([p.request for p in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("write_batch must return one outcome per request")
        except BaseException as exc:  # never leave a caller waiting forever
            outcomes = [exc] * len(batch)
            if not isinstance(exc, Exception):
                self._settle(batch, outcomes)
                raise
        finally:
            self._busy_since = None
        self._settle(batch, outcomes)

    @staticmethod
    def _settle(
        batch: list[_Pending[Request, Result]], outcomes: Sequence[Result | BaseException]
    ) -> None:
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
