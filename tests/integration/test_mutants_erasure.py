"""Erasure details that only show in one process's memory or in one store's rows."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from service_layer.erasure import erase_lead, reapply_erasures
from service_layer.ledger import Ledger

PHONE = "+6281399990001"


def test_reapplying_erasures_drops_the_erased_lead_from_this_process_cache(
    durable_database_url: str,
) -> None:
    """Another process erased the lead; this one still holds it, decrypted, in its cache
    until `reapply_erasures` runs here."""
    url = DatabaseURL.parse(durable_database_url)
    holder, eraser = open_store(url), open_store(url)
    holding, erasing = Ledger(holder), Ledger(eraser)
    try:
        said = Said("kapso", "kapso", datetime.now(UTC))
        message = RecordInboundMessage(PHONE, said, message_id="wamid.1", text="secret")
        lead_id = holding.record("acme", [message]).facts[0].lead_id
        assert holding.get_lead("acme", lead_id).phone == PHONE  # a load caches it
        assert holder.is_cached(lead_id)
        erase_lead(erasing, "acme", lead_id, "dpo", "request")

        assert reapply_erasures(holder) == 1
        assert not holder.is_cached(lead_id)
    finally:
        holding.close()
        erasing.close()
        holder.close()
        eraser.close()
