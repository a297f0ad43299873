"""One server process per SQLite ledger, enforced: an exclusive flock beside the ledger file,
held for the server's lifetime. The kernel drops it when the process dies, so it never goes
stale; the file's text only names the holder for the refusal message."""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from adapters.config.errors import ConfigError, ServerAlreadyRunningError
from adapters.eventstore.database_url import DatabaseURL


def lock_path(url: DatabaseURL) -> Path:
    assert url.path is not None
    return url.path.with_name(url.path.name + ".server.lock")


@contextmanager
def single_server(url: DatabaseURL, workers: int) -> Iterator[None]:
    """Hold the data directory for this server; refuse a second one, or several workers.
    PostgreSQL takes any number of processes: nothing to hold."""
    if url.kind != "sqlite":
        yield
        return
    if workers > 1:
        raise ConfigError(
            f"--workers {workers} needs PostgreSQL: a SQLite ledger takes one server process "
            "(set LEADLEDGER_DATABASE_URL=postgresql://…, docs/operations.md)"
        )
    path = lock_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+": opening must not wipe the holder's text before we know we hold the lock.
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that did not say which"
            raise ServerAlreadyRunningError(
                f"another leadledger server already serves the SQLite ledger in "
                f"{path.parent.resolve()} ({holder}); one server process per data directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
