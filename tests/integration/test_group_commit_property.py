"""Property: however a sequence of requests is cut into batches, the ledger and every
request's answer are the same as when each request is written alone, one after another.

Requests draw from a small pool of facts (messages, statuses, notes with and without an
idempotency key, on a few phones), so duplicates within a request, within a batch and
across batches all occur, and so do keys reused for another note (refused, alone or
batched). Each example writes to two fresh in-memory stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore, open_store
from domain.commands import AddNote, LeadCommand, RecordInboundMessage, RecordMessageStatus
from domain.envelope import Said
from domain.idempotency import IdempotencyKeyReusedError
from domain.identity import lead_id_for
from domain.lead import Lead
from domain.values import Source
from service_layer.ledger import Ledger
from service_layer.ledger_batch import Recording, WriteRequest
from tests.conftest import examples
from tests.support import FactKey, fact_key

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432")
WORKSPACES = ("acme", "other")
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def said(key: str | None) -> Said:
    return Said(Source.KAPSO, "kapso", AT, None, key)


@st.composite
def commands(draw: st.DrawFn) -> LeadCommand:
    phone = draw(st.sampled_from(PHONES))
    n = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(("message", "status", "note")))
    if kind == "message":
        return RecordInboundMessage(phone, said(None), message_id=f"wamid.{n}", text="halo")
    if kind == "status":
        status = draw(st.sampled_from(("sent", "delivered", "read")))
        return RecordMessageStatus(phone, said(None), message_id=f"wamid.out.{n}", status=status)
    key = draw(st.none() | st.sampled_from(("k1", "k2")))
    return AddNote(phone, said(key), content=f"note {n}")


requests = st.builds(
    WriteRequest,
    st.sampled_from(WORKSPACES),
    st.lists(commands(), max_size=4).map(tuple),
)


def write(
    requests: Sequence[WriteRequest], cuts: Sequence[int], max_commands: int = 2000
) -> tuple[Ledger, list[object]]:
    """Write `requests` in batches cut at `cuts`, each batch split into transactions of
    at most `max_commands` commands; every outcome, in request order."""
    ledger = Ledger(open_store(DatabaseURL.parse("memory://")), max_commands=max_commands)
    outcomes: list[object] = []
    bounds = [0, *sorted(set(cuts)), len(requests)]
    for start, end in pairwise(bounds):
        if start < end:
            outcomes += ledger.write_batch(requests[start:end])
    return ledger, outcomes


def stored(store: LedgerStore) -> dict[tuple[str, str], list[FactKey]]:
    """Each lead's events, in order, by what they say."""
    return {
        (workspace, phone): [
            fact_key(phone, e) for e in store.events.get(lead_id_for(workspace, phone))
        ]
        for workspace in WORKSPACES
        for phone in PHONES
    }


def answer(outcome: object) -> tuple[object, ...]:
    if isinstance(outcome, IdempotencyKeyReusedError):  # a key reused for another note
        return ("refused", outcome.key)
    assert isinstance(outcome, Recording), outcome
    appended = outcome.last_notification_id is not None
    return (tuple(outcome.facts), tuple(outcome.new_leads), appended)


@settings(max_examples=examples(1.5), deadline=None)
@given(
    st.lists(requests, min_size=1, max_size=12),
    st.lists(st.integers(0, 12), max_size=6),
    st.integers(1, 8),
)
def test_any_batching_equals_writing_one_by_one(
    drawn: list[WriteRequest], cuts: list[int], max_commands: int
) -> None:
    batched, batched_outcomes = write(drawn, [c for c in cuts if c < len(drawn)], max_commands)
    alone, alone_outcomes = write(drawn, range(1, len(drawn)))
    try:
        assert [answer(o) for o in batched_outcomes] == [answer(o) for o in alone_outcomes]
        assert stored(batched.store) == stored(alone.store)
    finally:
        batched.store.close()
        alone.store.close()


def test_a_batch_over_the_command_cap_commits_in_several_transactions() -> None:
    store = open_store(DatabaseURL.parse("memory://"))
    saves: list[int] = []
    save_leads = store.save_leads

    def counted(leads: list[Lead]) -> list[Any]:
        saves.append(len(leads))
        return save_leads(leads)

    store.save_leads = counted  # type: ignore[method-assign]
    ledger = Ledger(store, max_commands=3)
    note = [AddNote(phone, said(None), content="hi") for phone in PHONES]
    sizes = (2, 2, 1, 5)  # -> [2], [2, 1], [5]: a request larger than the cap stays whole
    batch = [WriteRequest("acme", tuple((note * 2)[:n])) for n in sizes]
    outcomes = ledger.write_batch(batch)
    assert len(saves) == 3
    assert [len(o.facts) for o in outcomes if isinstance(o, Recording)] == list(sizes)
    store.close()
