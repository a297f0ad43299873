"""Where lead keys live: a dict (memory://), a sibling SQLite file, or a PostgreSQL table.

Rows are (lead_id, key, kek): `key` is the lead key wrapped by the master key named `kek`
(adapters/keys/master_key.py), or, in a row written before envelope encryption, the bare
key with `kek` NULL until the first start re-wraps it. A NULL key is a tombstone (the lead
was erased). `fetch` answers only for leads that have a row: a StoredKey for a live key,
None for a tombstone.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, ParamSpec, Protocol, TypeVar

import psycopg
from eventsourcing.persistence import OperationalError

TABLE = "leadledger_lead_keys"
_P = ParamSpec("_P")
_R = TypeVar("_R")


class StoredKey(NamedTuple):
    kek: str | None  # the id of the master key that wrapped `blob`; None: a bare key
    blob: bytes


# Given a stored key, its replacement, or None to leave the row as it is.
Rewrap = Callable[[StoredKey], StoredKey | None]


def unavailable_as_operational(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A key store that can't be reached is the ledger unavailable: raise the store's own
    OperationalError, which the API answers with 503 + Retry-After (never a 500)."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except (sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise OperationalError(f"key store unavailable: {e}") from e

    return wrapper


class KeyBackend(Protocol):
    def create(self, lead: str, key: StoredKey) -> StoredKey | None: ...
    def create_many(self, keys: dict[str, StoredKey]) -> dict[str, StoredKey | None]: ...
    def fetch(self, leads: Sequence[str]) -> dict[str, StoredKey | None]: ...
    def destroy(self, lead: str) -> None: ...
    def rewrap(self, change: Rewrap, skip_kek: str) -> int:
        """Apply `change` to every live key not wrapped under `skip_kek`, in one
        transaction, then purge the old values from free pages where the backend can;
        the number of rows changed."""
        ...

    def close(self) -> None: ...


class MemoryKeyBackend:
    def __init__(self) -> None:
        self.rows: dict[str, StoredKey | None] = {}
        self._lock = threading.Lock()

    def create(self, lead: str, key: StoredKey) -> StoredKey | None:
        with self._lock:
            return self.rows.setdefault(lead, key)

    def create_many(self, keys: dict[str, StoredKey]) -> dict[str, StoredKey | None]:
        with self._lock:
            return {lead: self.rows.setdefault(lead, key) for lead, key in keys.items()}

    def fetch(self, leads: Sequence[str]) -> dict[str, StoredKey | None]:
        with self._lock:
            return {lead: self.rows[lead] for lead in leads if lead in self.rows}

    def destroy(self, lead: str) -> None:
        with self._lock:
            self.rows[lead] = None

    def rewrap(self, change: Rewrap, skip_kek: str) -> int:
        with self._lock:
            changed = {
                lead: new
                for lead, key in self.rows.items()
                if key is not None and key.kek != skip_kek and (new := change(key)) is not None
            }
            self.rows.update(changed)
            return len(changed)

    def close(self) -> None:
        pass
