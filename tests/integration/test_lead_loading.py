"""Bulk loading (adapters/eventstore/lead_loading.py) rebuilds each lead exactly as the repository
does, on SQLite and PostgreSQL; leads with a snapshot, unknown leads and a store it cannot
query in bulk (memory) are left to the repository."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.eventstore.lead_loading import load_leads
from domain.commands import AddNote, ImportContact, RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.legacy import LegacyContactRow
from domain.values import Source
from service_layer import ledger_batch
from service_layer.bootstrap import Services
from service_layer.ledger_batch import BULK_LOAD_FROM
from tests.support import WORKSPACE

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432")
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _facts(phone: str, n: int) -> list[Any]:
    kapso = Said(Source.KAPSO, "kapso", AT)
    row = LegacyContactRow(f"c{n}", name=f"Lead {n}", legacy_status="hot")
    return [
        RecordInboundMessage(phone, kapso, message_id=f"wamid.load{n}", text=f"halo {n}"),
        AddNote(phone, Said(Source.HUMAN, "ana", AT, None, f"note-{n}"), content=f"called {n}"),
        ImportContact(phone, Said(Source.IMPORT, "import", AT), row=row),
    ]


def test_bulk_loaded_leads_equal_repository_loads(services: Services) -> None:
    for n, phone in enumerate(PHONES):
        services.ledger.record(WORKSPACE, _facts(phone, n))
    ids = [lead_id_for(WORKSPACE, p) for p in PHONES]
    unknown = lead_id_for(WORKSPACE, "+6287711122233")

    loaded = load_leads(services.store, [*ids, unknown])

    if services.database.kind == "memory":
        assert loaded == {}  # no bulk query there: the repository loads each
        return
    assert set(loaded) == set(ids)
    for lead_id in ids:
        expected: object = services.store.repository.get(lead_id)
        assert vars(loaded[lead_id]) == vars(expected)


def test_a_snapshotted_lead_is_left_to_the_repository(services: Services) -> None:
    lead_id = lead_id_for(WORKSPACE, PHONES[0])
    services.ledger.record(WORKSPACE, _facts(PHONES[0], 0))
    services.store.take_snapshot(lead_id)
    plain = lead_id_for(WORKSPACE, PHONES[1])
    services.ledger.record(WORKSPACE, _facts(PHONES[1], 1))

    loaded = load_leads(services.store, [lead_id, plain])

    assert lead_id not in loaded
    assert (plain in loaded) == (services.database.kind != "memory")


def test_a_batch_of_cold_leads_loads_them_in_bulk_and_dedups(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    phones = [f"+62812000{n:05d}" for n in range(BULK_LOAD_FROM + 4)]
    facts = [f for n, p in enumerate(phones) for f in _facts(p, n)]
    first = services.ledger.record(WORKSPACE, facts)
    for phone in phones:  # as after a restart: nothing cached
        services.store.forget_cached(lead_id_for(WORKSPACE, phone))
    bulk: list[int] = []

    def counted(store: Any, ids: Any) -> Any:
        found = load_leads(store, ids)
        bulk.append(len(found))
        return found

    monkeypatch.setattr(ledger_batch, "load_leads", counted)
    again = services.ledger.record(WORKSPACE, facts)

    assert first.appended == len(facts)
    assert again.appended == 0
    expected = 0 if services.database.kind == "memory" else len(phones)
    assert bulk == [expected]
