"""Erasure from one process while another still trusts its caches: the other process's
next message for that phone lands on a new lead (never on the erased one, never lost)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from service_layer.erasure import erase_lead
from service_layer.ledger import Ledger

PHONE = "+6281399990001"


def message(message_id: str, text: str) -> RecordInboundMessage:
    said = Said("kapso", "kapso", datetime.now(UTC))
    return RecordInboundMessage(PHONE, said, message_id=message_id, text=text)


def test_a_process_with_a_stale_cache_starts_the_next_generation(
    durable_database_url: str,
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    first, second = open_store(url), open_store(url)
    ledger, eraser = Ledger(first), Ledger(second)
    try:
        recorded = ledger.record("acme", [message("wamid.1", "secret one")])
        erased_id = recorded.facts[0].lead_id
        assert erased_id == lead_id_for("acme", PHONE)
        # `first` caches the lead, its key and "not erased"; `second` erases it.
        erase_lead(eraser, "acme", erased_id, "dpo", "request 1")

        again = ledger.record("acme", [message("wamid.2", "hello again")])

        new_id = again.facts[0].lead_id
        assert again.facts[0].appended
        assert new_id == lead_id_for("acme", PHONE, 1)
        texts = [getattr(e, "text", None) for e in second.events.get(new_id)]
        assert texts == [None, "hello again"]  # Registered, then the message
        erased = [vars(e) for e in second.events.get(erased_id)]
        assert "secret one" not in repr(erased)
        assert "hello again" not in repr(erased)
        assert [type(e).__name__ for e in second.events.get(erased_id)] == [
            "Registered",
            "InboundMessageReceived",
            "PersonalDataErased",
        ]
    finally:
        ledger.close()
        eraser.close()
        first.close()
        second.close()
