"""The master keys this process holds: the current one wraps new lead keys; any of them
unwraps a stored key, chosen by the key id the row carries."""

from __future__ import annotations

import threading
from collections.abc import Callable

from adapters.keys.key_backends import StoredKey
from adapters.keys.master_key import MasterKey, MasterKeyError


class Keyring:
    def __init__(self, current: MasterKey, reload: Callable[[], MasterKey] | None = None) -> None:
        self._current = current
        self._known = {current.key_id: current}
        self._reload = reload  # reads the key file again: another process may have rotated
        self._lock = threading.Lock()

    @property
    def current(self) -> MasterKey:
        return self._current

    def add(self, key: MasterKey) -> None:
        """Also unwrap with `key` (a rotation's new key, before it becomes current)."""
        with self._lock:
            self._known[key.key_id] = key

    def make_current(self, key: MasterKey) -> None:
        with self._lock:
            self._known[key.key_id] = key
            self._current = key

    def wrap(self, lead_key: bytes) -> StoredKey:
        current = self._current
        return StoredKey(current.key_id, current.wrap(lead_key))

    def unwrap(self, stored: StoredKey) -> bytes:
        if stored.kek is None:
            return stored.blob  # bare, from before envelope encryption: wrapped at start
        key = self._known.get(stored.kek) or self._reloaded(stored.kek)
        return key.unwrap(stored.blob)

    def rewrapped(self, stored: StoredKey, under: MasterKey) -> StoredKey | None:
        """`stored` wrapped under `under`, or None when it already is."""
        if stored.kek == under.key_id:
            return None
        return StoredKey(under.key_id, under.wrap(self.unwrap(stored)))

    def _reloaded(self, kek: str) -> MasterKey:
        if self._reload is not None:
            fresh = self._reload()
            self.make_current(fresh)
            if fresh.key_id == kek:
                return fresh
        raise MasterKeyError(
            f"lead keys are wrapped under master key {kek}, which this process does not "
            f"hold (it has {self._current.key_id}): start it with the master key the keys "
            "were wrapped with (LEADLEDGER_MASTER_KEY or the key file; see docs/security.md)"
        )
