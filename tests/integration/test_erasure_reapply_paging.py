"""`reapply_erasures` reads every erasure exactly once, whatever the page size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from service_layer.erasure import erase_lead, reapply_erasures
from service_layer.ledger import Ledger

PHONES = ["+6281399990001", "+6281399990002", "+6281399990003"]


@pytest.mark.parametrize("page", [1, 2, 3, 1000])
def test_every_erasure_is_read_once_across_pages(durable_database_url: str, page: int) -> None:
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    try:
        for n, phone in enumerate(PHONES):
            said = Said("kapso", "kapso", datetime.now(UTC))
            message = RecordInboundMessage(phone, said, message_id=f"wamid.{n}")
            recorded = ledger.record("acme", [message])
            erase_lead(ledger, "acme", recorded.facts[0].lead_id, "dpo", "request")
        assert reapply_erasures(store, page=page) == len(PHONES)
    finally:
        ledger.close()
        store.close()
