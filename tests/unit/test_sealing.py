"""Sealing of personal fields (adapters/eventstore/sealing.py) and the key store, as properties:
round-trips with the key; with the key destroyed, no personal value survives in the stored
bytes or the decoded events while every audit field is unchanged."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.eventstore.sealing import SEALED
from adapters.eventstore.store import LedgerStore
from adapters.keys.key_store import KeyStore
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey
from adapters.keys.sqlite_keys import SqliteKeyBackend
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.lead import Lead
from domain.personal import ENVELOPE, personal_fields, pseudonym
from tests.conftest import examples

MARK = "zqxPII"  # every generated personal value carries it: easy to look for in bytes
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

personal_text = st.text(min_size=0, max_size=30).map(lambda s: f"{MARK}{s}")
extracted = st.dictionaries(
    st.sampled_from(["name", "business_type", "domisili", "pain_points", "priority"]),
    personal_text,
    max_size=5,
)


def memory_store() -> LedgerStore:
    return LedgerStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def said(i: int, key: str | None = None) -> Said:
    return Said("kapso", "kapso", T0 + timedelta(seconds=i), None, key)


def build_lead(
    phone_tail: str, name: str, texts: list[str], note: str, data: dict[str, Any]
) -> Lead:
    lead = Lead(
        workspace="acme",
        phone=f"+62813{phone_tail}",
        source="kapso",
        actor="kapso",
        received_at=T0,
    )
    lead.report_contact_name(said(1), name)
    for i, text in enumerate(texts):
        lead.record_inbound_message(said(10 + i), f"wamid.{MARK}{i}", "text", text)
        lead.record_message_status(said(40 + i), f"wamid.{MARK}{i}", "read")
    lead.report_sarah_phase(said(80, "s1"), "collect_domisili", data, 40, "warm", None)
    lead.request_status(Said("human", "agent-7", T0, None, "k1"), "qualified", f"{MARK}why")
    lead.add_note(Said("human", "agent-7", T0, None, "k2"), note)
    return lead


def audit_view(state: dict[str, Any], name: str) -> dict[str, Any]:
    """The fields that stay in clear, message ids as their pseudonyms."""
    kept = set(state) - set(personal_fields(name, state))
    audit = {k: state[k] for k in kept if k != "originator_topic"}
    if isinstance(state.get("message_id"), str):
        audit["message_id"] = pseudonym(state["message_id"])
    return audit


lead_inputs = st.tuples(
    st.from_regex(r"[0-9]{8}", fullmatch=True),
    personal_text,
    st.lists(personal_text, max_size=3),
    personal_text,
    extracted,
)


@settings(max_examples=examples(0.4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lead_inputs)
def test_sealing_round_trips_and_shredding_leaves_only_the_audit_skeleton(
    inputs: tuple[str, str, list[str], str, dict[str, Any]],
) -> None:
    store = memory_store()
    lead = build_lead(*inputs)
    written = [dict(vars(e)) for e in lead.pending_events]
    store.save(lead)
    store.take_snapshot(lead.id)

    assert [vars(e) for e in store.events.get(lead.id)] == written
    stored = store.recorder.select_events(lead.id)
    snapshots = store.snapshots.recorder.select_events(lead.id) if store.snapshots else []
    assert all(MARK.encode() not in s.state for s in [*stored, *snapshots])
    assert "+62813" not in str([s.state for s in [*stored, *snapshots]])

    store.keys.destroy(lead.id)

    shredded = [dict(vars(e)) for e in store.events.get(lead.id)]
    assert MARK not in repr(shredded)
    assert inputs[0] not in repr(shredded)
    names = [type(e).__name__ for e in store.events.get(lead.id)]
    assert [audit_view(e, n) for e, n in zip(shredded, names, strict=True)] == [
        audit_view(e, n) for e, n in zip(written, names, strict=True)
    ]
    for event, name in zip(shredded, names, strict=True):
        for field in personal_fields(name, event):
            assert event[field] is None or field == "message_id"
    # The snapshot shreds too, and the lead still loads from it.
    store.forget_cached(lead.id)
    reloaded: Lead = store.repository.get(lead.id)
    assert reloaded.phone is None
    assert reloaded.reported_name is None


def test_a_destroyed_key_is_never_replaced() -> None:
    store = memory_store()
    lead = build_lead("11112222", f"{MARK}a", [f"{MARK}t"], f"{MARK}n", {})
    store.save(lead)
    store.keys.destroy(lead.id)
    store.forget_cached(lead.id)
    lead = store.repository.get(lead.id)

    lead.add_note(Said("human", "a", T0, None, "late"), f"{MARK}late note")
    store.save(lead)

    last = store.recorder.select_events(lead.id, desc=True, limit=1)[0]
    assert MARK.encode() not in last.state
    assert SEALED.encode() not in last.state
    assert vars(store.events.get(lead.id, desc=True, limit=1).__next__())["content"] is None


def test_events_stored_before_sealing_existed_still_load() -> None:
    store = memory_store()
    lead = build_lead("33334444", "Budi", ["halo"], "call", {"name": "Budi"})
    plain_mapper: Mapper[UUID] = Mapper(transcoder=store.mapper.transcoder)
    plain = [plain_mapper.to_stored_event(e) for e in lead.pending_events]

    decoded = [vars(store.mapper.to_domain_event(s)) for s in plain]

    assert decoded == [vars(plain_mapper.to_domain_event(s)) for s in plain]
    assert decoded[0]["phone"] == "+6281333334444"
    # Once the lead is erased they read redacted too (their bytes stay: docs/erasure.md).
    store.keys.destroy(lead.id)
    redacted = [vars(store.mapper.to_domain_event(s)) for s in plain]
    assert "Budi" not in repr(redacted)
    assert "+6281333334444" not in repr(redacted)
    assert [e["originator_version"] for e in redacted] == [e["originator_version"] for e in decoded]


def test_a_sealed_box_moved_to_another_event_fails_loudly() -> None:
    store = memory_store()
    lead = build_lead("55556666", "Ani", ["one", "two"], "n", {})
    sealed = [store.mapper.to_stored_event(e) for e in lead.pending_events]
    first, second = (s for s in sealed if b"InboundMessageReceived" in s.topic.encode())
    moved = StoredEvent(
        originator_id=second.originator_id,
        originator_version=second.originator_version,
        topic=second.topic,
        state=first.state,
    )
    with pytest.raises(MapperDeserialisationError):
        store.mapper.to_domain_event(moved)


def test_concurrent_first_writers_agree_on_one_key(tmp_path: Path) -> None:
    keyring = Keyring(MasterKey.generate())  # the processes share the installation's
    stores = [KeyStore(SqliteKeyBackend(tmp_path / "k.keys.db"), keyring) for _ in range(4)]
    lead_id = UUID("6c1b1f0e-4f3a-5d8e-9a57-1e2d3c4b5a69")
    ciphers: list[Any] = []
    threads = [
        threading.Thread(target=lambda s=s: ciphers.append(s.cipher_for_sealing(lead_id)))
        for s in stores
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nonce = b"\x00" * 12
    boxes = {c.encrypt(nonce, b"same", None) for c in ciphers}
    assert len(boxes) == 1
    key = stores[0].backend.fetch([str(lead_id)])[str(lead_id)]
    assert key is not None
    stores[0].destroy(lead_id)
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    assert not any(key.blob in blob for blob in files)  # secure_delete + WAL checkpoint
    assert (tmp_path / "k.keys.db").stat().st_mode & 0o077 == 0
    fresh = KeyStore(SqliteKeyBackend(tmp_path / "k.keys.db"), keyring)
    assert fresh.is_erased(lead_id)
    assert fresh.cipher_for_sealing(lead_id) is None
    for s in [*stores, fresh]:
        s.close()


def test_the_audit_skeleton_is_a_whitelist() -> None:
    # A field nobody classified is personal: sealed by default.
    assert personal_fields("NoteAdded", ["content", "mood", *ENVELOPE]) == ["content", "mood"]
    assert personal_fields("SomeFutureEvent", ["x", "source"]) == ["x"]


def test_an_unhandled_delivery_is_sealed_under_its_own_key() -> None:
    store = memory_store()
    kept = UnhandledDelivery(
        workspace="acme",
        key="kapso:abc",
        channel="kapso",
        event_type="whatsapp.widget.spun",
        reason="unknown event type",
        headers={"x-caller": f"{MARK}+6281355550001"},
        body=f'{{"caller": "{MARK}"}}',
        received_at=T0,
    )
    store.save(kept)
    [stored] = store.recorder.select_events(kept.id)
    assert MARK.encode() not in stored.state
    assert vars(store.mapper.to_domain_event(stored))["body"] == f'{{"caller": "{MARK}"}}'

    store.keys.destroy(kept.id)

    shredded = vars(store.mapper.to_domain_event(stored))
    assert (shredded["body"], shredded["headers"]) == (None, None)
    assert (shredded["event_type"], shredded["key"]) == ("whatsapp.widget.spun", "kapso:abc")
