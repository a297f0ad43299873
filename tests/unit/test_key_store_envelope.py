"""Envelope encryption in the key store: lead keys are stored wrapped by the master key,
unwrapped only into the process's cache, and a cached key costs no query at all."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError
from hypothesis import given
from hypothesis import strategies as st

from adapters.eventstore.store import LedgerStore
from adapters.keys.key_backends import MemoryKeyBackend, Rewrap, StoredKey
from adapters.keys.key_store import KeyStore
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey, MasterKeyError, key_file
from domain.lead import Lead

LEAD = UUID("6c1b1f0e-4f3a-5d8e-9a57-1e2d3c4b5a69")
keys32 = st.binary(min_size=32, max_size=32)


class CountingBackend(MemoryKeyBackend):
    """The memory backend, counting the calls (each one a round trip on a real store)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def create(self, lead: str, key: StoredKey) -> StoredKey | None:
        self.calls["create"] += 1
        return super().create(lead, key)

    def create_many(self, keys: dict[str, StoredKey]) -> dict[str, StoredKey | None]:
        self.calls["create_many"] += 1
        return super().create_many(keys)

    def fetch(self, leads: Sequence[str]) -> dict[str, StoredKey | None]:
        self.calls["fetch"] += 1
        return super().fetch(leads)

    def rewrap(self, change: Rewrap, skip_kek: str) -> int:
        self.calls["rewrap"] += 1
        return super().rewrap(change, skip_kek)


def test_the_store_holds_only_wrapped_keys() -> None:
    master = MasterKey.generate()
    backend = MemoryKeyBackend()
    keys = KeyStore(backend, Keyring(master))
    cipher = keys.cipher_for_sealing(LEAD)
    assert cipher is not None
    stored = backend.rows[str(LEAD)]
    assert stored is not None
    assert stored.kek == master.key_id
    assert len(stored.blob) == 40  # RFC 3394 wrap of 32 bytes
    lead_key = master.unwrap(stored.blob)
    assert lead_key not in stored.blob
    box = cipher.encrypt(b"\0" * 12, b"hello", None)
    other = KeyStore(backend, Keyring(master))  # another process, same master key
    reader = other.cipher_for_reading(LEAD)
    assert reader is not None
    assert reader.decrypt(b"\0" * 12, box, None) == b"hello"


def test_a_cached_key_costs_no_round_trip_and_a_miss_costs_exactly_one() -> None:
    backend = CountingBackend()
    keys = KeyStore(backend, Keyring(MasterKey.generate()))
    keys.cipher_for_sealing(LEAD)
    assert backend.calls == Counter(create=1)
    for _ in range(1000):
        keys.cipher_for_reading(LEAD)
        keys.cipher_for_sealing(LEAD)
        keys.prefetch([LEAD])
    assert backend.calls == Counter(create=1)  # the hot path: the cache only
    cold = KeyStore(backend, Keyring(keys.keyring.current), ttl=0.0)  # every lookup misses
    for _ in range(5):
        cold.cipher_for_reading(LEAD)
    assert backend.calls["fetch"] == 5  # one query a miss, as before wrapping


def test_a_key_under_a_master_key_the_process_lacks_is_unavailable_not_garbage() -> None:
    """The reader gets the store's OperationalError (the API's 503), from the key store and
    through the event mapper alike, never a deserialisation failure (a 500)."""
    store = LedgerStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    lead = Lead(
        workspace="acme",
        phone="+6281300000001",
        source="kapso",
        actor="k",
        received_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    store.save(lead)
    stranger = KeyStore(store.keys.backend, Keyring(MasterKey.generate()))
    with pytest.raises(OperationalError, match="does not hold"):
        stranger.cipher_for_reading(lead.id)
    store.keys = store.mapper.keys = stranger  # type: ignore[attr-defined]
    store.forget_cached(lead.id)
    with pytest.raises(OperationalError, match="does not hold"):
        store.repository.get(lead.id)


def test_bare_keys_are_read_and_wrapped_by_wrap_all_under() -> None:
    backend = CountingBackend()
    bare = os.urandom(32)
    backend.rows[str(LEAD)] = StoredKey(None, bare)  # as an older version stored it
    master = MasterKey.generate()
    keys = KeyStore(backend, Keyring(master))
    assert keys.wrap_all_under(master) == 1
    stored = backend.rows[str(LEAD)]
    assert stored is not None
    assert stored.kek == master.key_id
    assert master.unwrap(stored.blob) == bare
    assert keys.wrap_all_under(master) == 0  # nothing left to do


@given(lead_key=keys32, first=keys32, second=keys32)
def test_a_rotation_keeps_every_lead_key_and_only_the_new_master_opens_it(
    lead_key: bytes, first: bytes, second: bytes
) -> None:
    old, new = MasterKey(first), MasterKey(second)
    ring = Keyring(old)
    ring.add(new)
    wrapped = ring.rewrapped(StoredKey(old.key_id, old.wrap(lead_key)), new)
    if first == second:
        assert wrapped is None  # already under it
        return
    assert wrapped is not None
    assert wrapped.kek == new.key_id
    assert new.unwrap(wrapped.blob) == lead_key
    with pytest.raises(MasterKeyError):
        old.unwrap(wrapped.blob)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda k: k.secret.hex(),
        lambda k: k.secret.hex().upper(),
        lambda k: k.text(),
        lambda k: k.text().replace("+", "-").replace("/", "_") + "\n",
    ],
    ids=["hex", "HEX", "base64", "base64url"],
)
def test_master_key_spellings(spelling: object) -> None:
    key = MasterKey.generate()
    assert MasterKey.parse(spelling(key), "LEADLEDGER_MASTER_KEY") == key  # type: ignore[operator]


@pytest.mark.parametrize("text", ["", "not a key", "00" * 31, "AAAA", "zz" * 32])
def test_a_bad_master_key_is_refused_naming_where_it_came_from(text: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        MasterKey.parse(text, "LEADLEDGER_MASTER_KEY")
    assert str(caught.value).startswith("LEADLEDGER_MASTER_KEY: ")
    assert not text or text not in str(caught.value)  # the value itself is never echoed


def test_the_key_id_names_the_key_without_revealing_it() -> None:
    key = MasterKey.generate()
    assert key.key_id == MasterKey(key.secret).key_id
    assert key.key_id not in key.secret.hex()
    assert "secret" not in repr(key)
    assert key.secret.hex() not in repr(key)


def test_the_key_file_is_made_once_0600_even_by_racing_processes(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "leadledger.master.key"
    previous = os.umask(0)
    try:
        found: list[MasterKey] = []
        threads = [threading.Thread(target=lambda: found.append(key_file(path))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.umask(previous)
    assert len(found) == 8
    assert len(set(found)) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no leftovers
    assert key_file(path) == found[0]  # never overwritten
