"""Property: for any interleaving and duplication of a set of deliveries, each fact is
stored exactly once.

Hypothesis draws a set of distinct facts (inbound messages, outbound messages with their
statuses, across a few phones written in several spellings), packs them into Kapso
deliveries (single events and batches in the three batch shapes, random idempotency keys),
then posts an arbitrary interleaving of those deliveries, exact retries of them, re-keyed
retries and re-batchings, through the Ledger. Every example gets a fresh store.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.phone import normalise_phone
from tests.conftest import require_postgres, services_at, store_per_example
from tests.support import (
    KAPSO_RECEIVED,
    FactKey,
    KapsoDelivery,
    conversation_id_for,
    fact_counts,
    kapso_inbound,
    kapso_outbound,
    ledger_size,
    phone_spellings,
    record_kapso,
)

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432", "+6281122334455")
STATUSES = ("sent", "delivered", "read", "failed")
STYLES = ("header", "flag", "data")
# Shares of the profile's budget (tests/conftest.py): a durable store costs more per example.
EXAMPLES = {"memory": 1.0, "sqlite": 0.3, "postgres": 0.15}


@dataclass(frozen=True)
class Element:
    event: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    phones: list[str]
    expected: Counter[FactKey]
    deliveries: list[KapsoDelivery]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    phones = draw(st.lists(st.sampled_from(PHONES), min_size=1, max_size=3, unique=True))
    names = {p: f"Kontak {i}" for i, p in enumerate(PHONES)}
    elements: list[Element] = []
    expected: Counter[FactKey] = Counter()
    used: set[str] = set()
    named: set[str] = set()

    for n in draw(st.lists(st.integers(0, 99), max_size=6, unique=True)):
        message_id = f"wamid.in.{n}"
        e164 = draw(st.sampled_from(phones))
        spelling, name = spelling_and_name(draw, e164, names, used, named)
        opens = draw(st.booleans())
        elements.append(
            Element(KAPSO_RECEIVED, kapso_inbound(message_id, spelling, e164, name, opens))
        )
        expected[(e164, "InboundMessageReceived", message_id, None)] = 1
        if opens:
            expected[(e164, "ConversationChanged", conversation_id_for(e164), "opened")] = 1
    for n in draw(
        st.lists(st.integers(0, 99), min_size=1 if not elements else 0, max_size=4, unique=True)
    ):
        message_id = f"wamid.out.{n}"
        statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, unique=True))
        e164 = draw(st.sampled_from(phones))
        expected[(e164, "OutboundMessageSent", message_id, None)] = 1
        for status in statuses:
            expected[(e164, "MessageStatusChanged", message_id, status)] = 1
            # Kapso repeats earlier statuses in kapso.statuses: only ones of this fact set.
            history = draw(st.lists(st.sampled_from(statuses), unique=True))
            spelling, name = spelling_and_name(draw, e164, names, used, named)
            elements.append(
                Element(
                    f"whatsapp.message.{status}",
                    kapso_outbound(message_id, spelling, e164, status, history, name),
                )
            )
    for e164 in used:
        expected[(e164, "Registered", e164, "acme")] = 1
    for e164 in named:
        expected[(e164, "ContactNameReported", names[e164], None)] = 1

    keys = st.none() | st.uuids().map(str)

    def delivery(indices: list[int]) -> KapsoDelivery:
        event = elements[indices[0]].event
        assert all(elements[i].event == event for i in indices)
        if len(indices) == 1 and draw(st.booleans()):
            style = "single"
        else:
            style = draw(st.sampled_from(STYLES))
            indices = draw(st.permutations(indices))
        return KapsoDelivery(event, tuple(elements[i].body for i in indices), style, draw(keys))

    def by_event(indices: list[int]) -> list[list[int]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i in indices:
            groups[elements[i].event].append(i)
        return list(groups.values())

    # Every element in exactly one first delivery...
    slots = draw(st.lists(st.integers(0, 2), min_size=len(elements), max_size=len(elements)))
    first: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, slot in enumerate(slots):
        first[(elements[i].event, slot)].append(i)
    deliveries = [delivery(group) for group in first.values()]
    # ...then re-batchings of any elements, exact retries, and retries under a new key.
    indices = st.integers(0, len(elements) - 1)
    for picked in draw(
        st.lists(st.lists(indices, min_size=1, max_size=4, unique=True), max_size=3)
    ):
        deliveries += [delivery(group) for group in by_event(picked)]
    positions = st.integers(0, len(deliveries) - 1)
    deliveries += [deliveries[i] for i in draw(st.lists(positions, max_size=len(deliveries)))]
    for i in draw(st.lists(positions, max_size=3)):
        old = deliveries[i]
        deliveries.append(KapsoDelivery(old.event, old.elements, old.style, draw(keys)))
    return Scenario(sorted(used), expected, draw(st.permutations(deliveries)))


def spelling_and_name(
    draw: st.DrawFn, e164: str, names: dict[str, str], used: set[str], named: set[str]
) -> tuple[str, str | None]:
    """A spelling of the phone, and its (constant) contact name or none; noted as used."""
    used.add(e164)
    with_name = draw(st.booleans())
    if with_name:
        named.add(e164)
    return draw(st.sampled_from(phone_spellings(e164))), names[e164] if with_name else None


def test_phone_pool_is_valid() -> None:
    for e164 in PHONES:
        assert {normalise_phone(s) for s in phone_spellings(e164)} == {e164}


def test_each_fact_is_stored_exactly_once(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        require_postgres()

    @store_per_example(EXAMPLES[backend])
    @given(scenario=scenarios())
    def check(scenario: Scenario) -> None:
        with services_at(backend, Path(tempfile.mkdtemp(dir=tmp_path))) as services:
            for delivery in scenario.deliveries:
                record_kapso(services, delivery)
            counts = fact_counts(services, scenario.phones)
            assert counts == scenario.expected
            # Nothing else was stored anywhere (e.g. on a lead of a misread phone).
            assert ledger_size(services) == sum(scenario.expected.values())

    check()


def test_replayed_recording_reports_duplicates(backend: str, tmp_path: Path) -> None:
    """A hand-made case: a batch, then its elements alone, then the batch re-keyed."""
    if backend == "postgres":
        require_postgres()
    e164 = PHONES[0]
    elements = tuple(
        kapso_inbound(f"wamid.x.{i}", s, e164, "Budi", i == 0)
        for i, s in enumerate(phone_spellings(e164)[:3])
    )
    with services_at(backend, Path(tempfile.mkdtemp(dir=tmp_path))) as services:
        first = record_kapso(services, KapsoDelivery(KAPSO_RECEIVED, elements, "flag", "k1"))
        assert first.appended == 5  # name, opened, three messages
        size = ledger_size(services)
        assert size == 6  # and Registered
        for element in elements:
            again = record_kapso(services, KapsoDelivery(KAPSO_RECEIVED, (element,), "single"))
            assert again.appended == 0
        rekeyed = record_kapso(
            services, KapsoDelivery(KAPSO_RECEIVED, elements[::-1], "data", "k2")
        )
        assert (rekeyed.appended, rekeyed.duplicates) == (0, len(rekeyed.facts))
        assert ledger_size(services) == size
