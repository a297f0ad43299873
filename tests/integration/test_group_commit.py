"""Group commit: concurrent `Ledger.record` calls share transactions, each still answered
with exactly its own facts, and only once they are committed.

A gate holds the first transaction open until every other request is queued behind it,
so the batch they form is certain (no timing): the writer then takes them all at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from domain.commands import AddNote, LeadCommand, RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.lead import Lead
from domain.values import Source
from service_layer.bootstrap import Services
from service_layer.ledger import Recording
from tests.support import WORKSPACE, fact_counts, ledger_count

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432")
REQUESTS = 24
WAIT = 60.0  # bound on every wait below; never reached unless something hangs


def said(key: str | None = None) -> Said:
    return Said(Source.KAPSO, "kapso", datetime(2026, 1, 5, 9, 0, tzinfo=UTC), None, key)


def message(phone: str, message_id: str) -> RecordInboundMessage:
    return RecordInboundMessage(phone, said(), message_id=message_id, text=message_id)


def request_commands(n: int) -> list[LeadCommand]:
    """Request n: a message of its own and one it shares with its pair (2k, 2k+1), so two
    requests of one batch carry the same fact; several pairs share each lead."""
    phone = PHONES[(n // 2) % len(PHONES)]
    return [message(phone, f"wamid.own.{n}"), message(phone, f"wamid.shared.{n // 2}")]


@dataclass(frozen=True)
class Poison(LeadCommand):
    """Appends an event, then fails: half a command's work is on the aggregate."""

    def apply(self, lead: Lead) -> bool:
        lead.add_note(self.said, "half-applied")
        raise ValueError("poisoned command")


class Gate:
    """Wraps `store.save_leads` (one call per transaction): counts calls, holds the first
    one until released, and can make a later call fail as an unreachable database does."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.saves = 0
        self.entered = threading.Event()
        self.released = threading.Event()
        self.fail_call: int | None = None
        original = services.store.save_leads

        def save(*objs: Any, **kwargs: Any) -> Any:
            self.saves += 1
            if self.saves == 1:
                self.entered.set()
                assert self.released.wait(WAIT)
            if self.saves == self.fail_call:
                raise OperationalError("database is unreachable (injected)")
            return original(*objs, **kwargs)

        monkeypatch.setattr(services.store, "save_leads", save)


def in_one_batch(
    services: Services, gate: Gate, requests: list[list[LeadCommand]]
) -> tuple[Future[Recording], list[Future[Recording]]]:
    """Record a first request (held in its save), queue `requests` behind it, release."""
    pool = ThreadPoolExecutor(max_workers=len(requests) + 1)

    def record(commands: list[LeadCommand]) -> Recording:
        return services.ledger.record(WORKSPACE, commands)

    first = pool.submit(record, [message(PHONES[0], "wamid.first")])
    assert gate.entered.wait(WAIT)
    rest = [pool.submit(record, commands) for commands in requests]
    deadline = time.monotonic() + WAIT
    while services.ledger.writer.queued < len(requests):
        assert time.monotonic() < deadline, "requests did not reach the writer's queue"
        time.sleep(0.005)
    gate.released.set()
    pool.shutdown(wait=True)
    return first, rest


@pytest.fixture
def gate(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(services, monkeypatch)
    yield gate
    gate.released.set()  # never leave the writer held


def test_a_batch_answers_each_request_with_its_own_facts(services: Services, gate: Gate) -> None:
    requests = [request_commands(n) for n in range(REQUESTS)]
    first, rest = in_one_batch(services, gate, requests)
    recordings = [f.result() for f in rest]

    assert gate.saves == 2  # the held first request, then every other one in one save
    assert services.ledger.writer.batches == 2
    for commands, recording in zip(requests, recordings, strict=True):
        assert [(f.lead_id, f.fact) for f in recording.facts] == [
            (lead_id_for(WORKSPACE, c.phone), c.fact) for c in commands
        ]
        assert recording.facts[0].appended  # its own message
    # Each shared message: appended by the first request carrying it, a duplicate after.
    shared = Counter(f.fact for r in recordings for f in r.facts if "shared" in f.fact)
    appended = Counter(f.fact for r in recordings for f in r.facts if f.appended)
    assert all(appended[fact] == 1 for fact in shared)
    assert sum(r.duplicates for r in recordings) == REQUESTS - len(shared)
    # Every lead is new to exactly one request, and each request's position is its own.
    assert sorted(lead for r in [first.result(), *recordings] for lead in r.new_leads) == sorted(
        lead_id_for(WORKSPACE, p) for p in PHONES
    )
    for recording in recordings:
        assert recording.last_notification_id is not None
        [notification] = services.store.recorder.select_notifications(
            start=recording.last_notification_id, limit=1
        )
        event: Any = services.store.mapper.to_domain_event(notification)
        last_appended = [f for f in recording.facts if f.appended][-1]
        assert (event.originator_id, f"message:{event.message_id}") == (
            last_appended.lead_id,
            last_appended.fact,
        )
    facts = fact_counts(services, PHONES)
    assert set(facts.values()) == {1}  # every fact once
    assert ledger_count(services) == sum(facts.values())


def test_a_poisoned_request_fails_alone(services: Services, gate: Gate) -> None:
    requests = [request_commands(n) for n in range(6)]
    requests.insert(3, [message(PHONES[1], "wamid.before-poison"), Poison(PHONES[1], said())])
    first, rest = in_one_batch(services, gate, requests)

    with pytest.raises(ValueError, match="poisoned"):
        rest[3].result()
    good = [f.result() for i, f in enumerate(rest) if i != 3]
    assert all(r.facts[0].appended for r in good)
    stored = fact_counts(services, PHONES)
    assert set(stored.values()) == {1}
    assert not any(key[1] == "NoteAdded" for key in stored)  # nothing half-applied saved
    assert not any(key[2] == "wamid.before-poison" for key in stored)  # nor its other fact
    assert sum(r.appended for r in [first.result(), *good]) + len(PHONES) == sum(stored.values())


def test_a_database_failure_fails_every_request_of_the_batch(
    services: Services, gate: Gate
) -> None:
    gate.fail_call = 2  # the batch's save
    requests = [request_commands(n) for n in range(8)]
    first, rest = in_one_batch(services, gate, requests)

    for future in rest:
        with pytest.raises(OperationalError):
            future.result()
    stored = fact_counts(services, PHONES)
    assert not any("own" in str(key[2]) or "shared" in str(key[2]) for key in stored)
    assert first.result().appended == 1
    # The writer goes on: the same requests, recorded again, are all appended now.
    again = [services.ledger.record(WORKSPACE, commands) for commands in requests]
    assert sum(r.appended for r in again) == len({c.fact for r in requests for c in r})
    assert set(fact_counts(services, PHONES).values()) == {1}


def test_free_running_threads_store_each_fact_once(services: Services) -> None:
    requests = [request_commands(n) for n in range(REQUESTS * 4)]
    notes = [[AddNote(PHONES[n % 3], said(f"note-{n}"), content="x")] * 2 for n in range(20)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        recordings = list(
            pool.map(lambda c: services.ledger.record(WORKSPACE, c), [*requests, *notes])
        )
    appended = Counter(f.fact for r in recordings for f in r.facts if f.appended)
    assert appended["note"] == len(notes)  # the idempotency key dedups the repeat
    assert all(n == 1 for fact, n in appended.items() if fact != "note")
    assert {f.fact for r in recordings for f in r.facts} == set(appended)  # none lost
    stored = fact_counts(services, PHONES)
    notes_stored = sum(n for key, n in stored.items() if key[1] == "NoteAdded")
    assert notes_stored == len(notes)
    assert all(n == 1 for key, n in stored.items() if key[1] != "NoteAdded")
    assert ledger_count(services) == sum(appended.values()) + len(PHONES)
