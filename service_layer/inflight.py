"""Deliveries being written, by content: a sender's retry joins the write in progress.

A big signed batch can take longer to store than its sender waits (the ingest deadline
answers 503 + Retry-After, the write goes on), and the sender retries the same bytes.
Without this, each retry would start another pass over the whole batch behind the first
one - the outage repeating itself. Here a retry of a delivery still being written waits
for that write and gets its answer (200 once stored); the answer of a large delivery is
kept a few minutes, so a retry arriving after the write finished is answered at once.
Small deliveries' answers are not kept: their dedup pass is as quick as a lookup.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

KEEP_SECONDS = 600.0  # a sender's retries of one delivery come within minutes
KEEP_MAX = 2  # large answers kept at once (each holds every part's facts)


class InFlight(Generic[T]):
    """Runs jobs on its own threads, one per distinct key at a time."""

    def __init__(self, workers: int, keep_seconds: float = KEEP_SECONDS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._lock = threading.Lock()
        self._running: dict[str, Future[T]] = {}
        self._kept: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self.keep_seconds = keep_seconds

    def find(self, key: str) -> Future[T] | None:
        """The future of the job running under `key`, or of its kept result; else None."""
        with self._lock:
            return self._find(key)

    def submit(self, key: str | None, job: Callable[[], T], keep: bool) -> Future[T]:
        """`job`'s future; the running or kept one when `key` is already known. `keep`:
        remember the result for retries (large deliveries)."""
        if key is None:
            return self._executor.submit(job)
        with self._lock:
            found = self._find(key)
            if found is not None:
                return found
            # Submitted under the lock: the job's own bookkeeping (below) waits for it.
            future = self._executor.submit(self._run, key, job, keep)
            self._running[key] = future
            return future

    def _find(self, key: str) -> Future[T] | None:
        self._forget_expired()
        running = self._running.get(key)
        if running is not None:
            return running
        kept = self._kept.get(key)
        if kept is None:
            return None
        done: Future[T] = Future()
        done.set_result(kept[1])
        return done

    def close(self) -> None:
        """Refuse new jobs; the running ones finish on their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, key: str, job: Callable[[], T], keep: bool) -> T:
        try:
            result = job()
        except BaseException:
            with self._lock:
                self._running.pop(key, None)  # a failed write is retried from scratch
            raise
        with self._lock:
            self._running.pop(key, None)
            if keep:
                self._kept[key] = (time.monotonic(), result)
                while len(self._kept) > KEEP_MAX:
                    self._kept.popitem(last=False)
        return result

    def _forget_expired(self) -> None:
        now = time.monotonic()
        while self._kept:
            key, (stored_at, _) = next(iter(self._kept.items()))
            if now - stored_at < self.keep_seconds:
                return
            del self._kept[key]
