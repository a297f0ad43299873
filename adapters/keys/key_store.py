"""Per-lead data keys, kept OUTSIDE the event store: destroying one shreds that lead's
personal fields in the ledger and in every backup of it (docs/erasure.md). Each is stored
wrapped by the master key (adapters/keys/keyring.py), so the keys database alone opens
nothing; keys are unwrapped on their way into the cache, never stored bare.

A key row is created once (INSERT … ON CONFLICT DO NOTHING, then read back, so concurrent
first writers agree on one key) and destroyed by an erasure, which leaves a tombstone:
a lead once erased never gets a key again. Keys are cached per process (bounded LRU);
a cached key is trusted for at most `ttl` seconds, so a process that did not run the
erasure stops decrypting within that bound. Tombstones are cached for good. A cached key
costs no query and no unwrapping; a miss costs the one query it always did.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import OperationalError

from adapters.keys.key_backends import KeyBackend, MemoryKeyBackend, StoredKey
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey, MasterKeyError

KEY_BYTES = 32
ERASED = None  # a tombstone in the cache


class KeyStore:
    def __init__(
        self,
        backend: KeyBackend | None = None,
        keyring: Keyring | None = None,
        max_cached: int = 20000,
        ttl: float = 30.0,
    ) -> None:
        self.backend = backend or MemoryKeyBackend()
        # No keyring: a throwaway master key (memory:// and tests, nothing is kept).
        self.keyring = keyring or Keyring(MasterKey.generate())
        self.max_cached = max_cached
        self.ttl = ttl
        self._cache: OrderedDict[str, tuple[AESGCM | None, float]] = OrderedDict()
        self._absent: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        # Other secrets wrapped by the master key (the webhook signing secrets): re-wrapped
        # by a rotation too, before the new key becomes current (and the key file renamed).
        self.also_rewrap: list[Callable[[MasterKey], int]] = []

    def cipher_for_sealing(self, lead_id: UUID) -> AESGCM | None:
        """The lead's cipher, creating its key on first use; None once the lead is erased."""
        found, known = self._cached(str(lead_id))
        if known:
            return found
        lead = str(lead_id)
        bare, wrapped = self._new_key()
        stored = self.backend.create(lead, wrapped)
        return self._remember(lead, stored, bare if stored == wrapped else None)

    def ensure(self, lead_ids: Iterable[UUID]) -> None:
        """Create the keys of many new leads in one transaction before a batch is sealed
        (one transaction per key made bulk imports crawl)."""
        missing = {str(i) for i in lead_ids if not self._cached(str(i))[1]}
        if missing:
            made = {lead: self._new_key() for lead in missing}
            found = self.backend.create_many({lead: made[lead][1] for lead in missing})
            for lead, key in found.items():
                bare, wrapped = made[lead]
                self._remember(lead, key, bare if key == wrapped else None)

    def cipher_for_reading(self, lead_id: UUID | str) -> AESGCM | None:
        """The lead's cipher, or None when its key is destroyed (or was never made)."""
        lead = str(lead_id)
        found, known = self._cached(lead)
        if known:
            return found
        rows = self.backend.fetch([lead])
        return self._remember(lead, rows[lead]) if lead in rows else None

    def prefetch(self, lead_ids: Iterable[UUID | str]) -> None:
        """Load many leads' keys in one query (a projection page), so decoding does not
        query once per lead."""
        wanted = sorted({str(i) for i in lead_ids})
        missing = [lead for lead in wanted if not self._cached(lead)[1]]
        if missing:
            found = self.backend.fetch(missing)
            for lead, key in found.items():
                self._remember(lead, key)
            self._note_absent([lead for lead in missing if lead not in found])

    def destroy(self, lead_id: UUID) -> None:
        """Shred: tombstone the key (idempotent), wipe it from this process's cache and,
        where the backend can, from its free pages and WAL."""
        self.backend.destroy(str(lead_id))
        self._remember(str(lead_id), ERASED)

    def is_erased(self, lead_id: UUID | str) -> bool:
        lead = str(lead_id)
        found, known = self._cached(lead)
        if known:
            return found is None
        with self._lock:
            if self._absent.get(lead, 0.0) >= time.monotonic():
                return False
        rows = self.backend.fetch([lead])
        if lead not in rows:
            self._note_absent([lead])
            return False
        return self._remember(lead, rows[lead]) is None

    def wrap_all_under(self, master: MasterKey) -> int:
        """Re-wrap every live lead key under `master` in one transaction (a rotation, or
        the first start after envelope encryption came: bare keys get wrapped); events and
        cached keys are untouched. The number of keys re-wrapped."""
        self.keyring.add(master)
        changed = self.backend.rewrap(
            lambda stored: self.keyring.rewrapped(stored, master), skip_kek=master.key_id
        )
        for rewrap in self.also_rewrap:
            rewrap(master)
        self.keyring.make_current(master)
        return changed

    def close(self) -> None:
        self.backend.close()

    def _new_key(self) -> tuple[bytes, StoredKey]:
        """A fresh lead key, bare (for this process's cache) and wrapped (for the store)."""
        bare = os.urandom(KEY_BYTES)
        return bare, self.keyring.wrap(bare)

    # -- cache ---------------------------------------------------------------------------

    def _cached(self, lead: str) -> tuple[AESGCM | None, bool]:
        with self._lock:
            entry = self._cache.get(lead)
            if entry is None or entry[1] < time.monotonic():
                return None, False
            self._cache.move_to_end(lead)
            return entry[0], True

    def _note_absent(self, leads: list[str]) -> None:
        """No key row yet: only `is_erased` trusts this (for `ttl`); a reader never does,
        since another process may have just created the key."""
        until = time.monotonic() + self.ttl
        with self._lock:
            for lead in leads:
                self._absent[lead] = until
                self._absent.move_to_end(lead)
            while len(self._absent) > self.max_cached:
                self._absent.popitem(last=False)

    def _remember(
        self, lead: str, key: StoredKey | None, bare: bytes | None = None
    ) -> AESGCM | None:
        """Cache a key (trusted for `ttl`) or a tombstone (None: for good); `bare`: the key
        unwrapped already (one this process just made: no need to unwrap it again)."""
        cipher: AESGCM | None = None
        if key is not None:
            cipher = AESGCM(bare if bare is not None else self._unwrapped(key))
        until = time.monotonic() + self.ttl if cipher is not None else float("inf")
        with self._lock:
            self._absent.pop(lead, None)
            self._cache[lead] = (cipher, until)
            self._cache.move_to_end(lead)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return cipher

    def _unwrapped(self, key: StoredKey) -> bytes:
        try:
            return self.keyring.unwrap(key)
        except MasterKeyError as exc:  # this process has the wrong master key: unavailable
            raise OperationalError(str(exc)) from exc
