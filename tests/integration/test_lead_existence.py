"""The batch existence probe answers exactly which leads have stored events, on every
backend, so a write batch can skip loading leads that can't exist yet."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.eventstore.lead_existence import saved_leads
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.values import Source
from service_layer.bootstrap import Services
from tests.support import WORKSPACE

SAVED = ("+6281234567890", "+6285712345678")
NEVER = ("+6281398765432", "+6287711122233")


def _message(phone: str, index: int) -> RecordInboundMessage:
    said = Said(Source.KAPSO, "kapso", datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    return RecordInboundMessage(
        phone=phone, said=said, message_id=f"wamid.exist{index}", text="halo"
    )


def test_saved_leads_names_exactly_the_leads_with_events(services: Services) -> None:
    services.ledger.record(WORKSPACE, [_message(p, i) for i, p in enumerate(SAVED)])
    saved = {lead_id_for(WORKSPACE, p) for p in SAVED}
    never = {lead_id_for(WORKSPACE, p) for p in NEVER}

    assert saved_leads(services.store, saved | never) == saved
    assert saved_leads(services.store, never) == set()
    assert saved_leads(services.store, set()) == set()


def test_a_batch_of_new_and_known_leads_appends_each_fact_once(services: Services) -> None:
    # The probe lets the batch register unseen leads without loading them; a lead seen
    # before must still be loaded, so its earlier message stays a duplicate.
    first = services.ledger.record(WORKSPACE, [_message(SAVED[0], 0)])
    again = services.ledger.record(
        WORKSPACE, [_message(SAVED[0], 0), _message(NEVER[0], 1), _message(NEVER[0], 1)]
    )
    assert first.appended == 1
    assert [f.appended for f in again.facts] == [False, True, False]
    assert again.new_leads == [lead_id_for(WORKSPACE, NEVER[0])]
