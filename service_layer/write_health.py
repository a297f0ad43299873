"""Whether the ledger's writes land: the outcome of the writer's latest transaction.

GET /readyz asks it: a process whose database refuses writes (down, disk full, file
read-only) should not be sent traffic, and should be again as soon as writes can land -
without a restart and without waiting for a delivery to prove it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

# After a failed write, /readyz stays unready this long even if a probe passes: a probe
# cannot see every fault (a full disk still lets a write transaction start).
RECENT_SECONDS = 5.0


@dataclass(frozen=True)
class Failing:
    error: str
    recent: bool  # the last failure is under RECENT_SECONDS old


class WriteHealth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed_at: float | None = None  # monotonic; None once a write succeeded
        self._error = ""

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failed_at = time.monotonic()
            self._error = f"{type(error).__name__}: {error}"

    def succeeded(self) -> None:
        with self._lock:
            self._failed_at = None

    def failing(self) -> Failing | None:
        """The last write's failure, unless a write succeeded since."""
        with self._lock:
            if self._failed_at is None:
                return None
            age = time.monotonic() - self._failed_at
            return Failing(self._error, age < RECENT_SECONDS)
