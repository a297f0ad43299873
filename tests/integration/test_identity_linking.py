"""One person, many ids (docs/read-models.md): a lead begun under a WhatsApp user id (BSUID)
and the phone it is later seen with are one lead from every lookup, whatever the order of
the deliveries; redeliveries append nothing; a number change links the new number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.phone import normalise_phone
from domain.whatsapp_identity import Identity, phone_identity, sender_identities, user_identity
from projections import queries
from service_layer.bootstrap import Services
from service_layer.lead_resolution import resolve_number_change, resolve_sender
from tests.conftest import examples
from tests.support import WORKSPACE

AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
BSUID = "MX.1349120865530274191"
WA_ID = "5215512345678"  # Mexico's WhatsApp id: "1" after the country code
E164 = "+525512345678"


def deliver(
    services: Services,
    identities: list[Identity],
    message_id: str,
    minute: int,
    workspace: str = WORKSPACE,
) -> int:
    """What ingest does for one inbound message: resolve the sender, record fact and links."""
    said = Said("meta", "meta", AT + timedelta(minutes=minute), AT + timedelta(minutes=minute))
    found = resolve_sender(services.store, workspace, identities, said)
    assert found is not None
    message = RecordInboundMessage(
        phone=found.record_on, said=said, message_id=message_id, text=message_id
    )
    return services.ledger.record(workspace, [message, *found.links]).appended


def timeline(services: Services, lead_key: str, workspace: str = WORKSPACE) -> list[str]:
    service = services.service
    service.catch_up_views()
    lead_id = service.current_lead_id(workspace, lead_key)
    return sorted(m.message_id for m in service.read_lead(workspace, lead_id, queries.messages))


DELIVERIES = {
    "bsuid only": sender_identities(None, BSUID),
    "both": sender_identities(WA_ID, BSUID),
    "phone only": sender_identities(WA_ID),
}


@pytest.mark.parametrize("order", list(permutations(DELIVERIES)))
def test_a_bsuid_lead_later_seen_with_its_phone_is_one_lead_in_any_order(
    services: Services, order: tuple[str, ...]
) -> None:
    for minute, name in enumerate(order):
        deliver(services, list(DELIVERIES[name]), f"wamid.{name}", minute)
    service = services.service
    by_phone = service.current_lead_id(WORKSPACE, E164)
    assert service.current_lead_id(WORKSPACE, f"wa_user:{BSUID}") == by_phone
    assert timeline(services, E164) == sorted(f"wamid.{n}" for n in DELIVERIES)
    # No duplicate contact: the workspace lists one lead, whichever lead holds the history.
    leads, _ = service.read_views(
        lambda conn, t: queries.list_leads(conn, t, WORKSPACE, queries.LeadQuery())
    )
    assert [v.lead_id for v in leads] == [by_phone]
    view = leads[0]
    assert (view.phone, view.wa_user_id) == (E164, BSUID)
    assert view.inbound_count == len(DELIVERIES)  # a merged history counts too
    # Redelivered, every delivery appends nothing and resolves to the same lead.
    for minute, name in enumerate(order):
        assert deliver(services, list(DELIVERIES[name]), f"wamid.{name}", minute) == 0
    assert service.current_lead_id(WORKSPACE, E164) == by_phone


def test_a_number_change_links_the_new_number_to_the_same_lead(services: Services) -> None:
    old = sender_identities("16505551234")
    deliver(services, list(old), "wamid.before", 0)
    new = phone_identity("12195555358")
    said = Said("meta", "meta", AT, AT)
    found = resolve_number_change(services.store, WORKSPACE, old, new, said)
    assert found is not None
    assert found.record_on == "+16505551234"
    services.ledger.record(WORKSPACE, list(found.links))
    deliver(services, [new], "wamid.after", 5)
    service = services.service
    lead = service.current_lead_id(WORKSPACE, "+12195555358")
    assert lead == service.current_lead_id(WORKSPACE, "+16505551234")
    assert timeline(services, "+12195555358") == ["wamid.after", "wamid.before"]
    view = service.read_lead(WORKSPACE, lead, lambda _c, _t, v: v)
    assert view.phone == "+12195555358"  # the number to call now


# One number per country whose WhatsApp id differs from its E.164 or is easy to misread.
NUMBERS = {
    "MX": ("5215512345678", "+525512345678", "55 1234 5678"),
    "BR": ("5511987654321", "+5511987654321", "(11) 98765-4321"),
    "AR": ("5491123456789", "+5491123456789", "011 15-2345-6789"),
    "ID": ("6281234567890", "+6281234567890", "0812-3456-7890"),
}


# Resolution only reads the ledger: one store for every example is fine.
@settings(
    max_examples=examples(0.5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(country=st.sampled_from(sorted(NUMBERS)), data=st.data())
def test_every_spelling_of_a_number_resolves_to_one_lead(
    services: Services, country: str, data: st.DataObject
) -> None:
    wa_id, e164, national = NUMBERS[country]
    spellings = [phone_identity(wa_id).value, normalise_phone(e164, country)]
    spellings.append(normalise_phone(national, country))  # as a person (or Sarah) writes it
    assert len(set(spellings)) == 1
    first = data.draw(
        st.sampled_from(
            [[phone_identity(wa_id)], [phone_identity(wa_id), user_identity(f"{country}.7{wa_id}")]]
        )
    )
    said = Said("meta", "meta", AT, AT)
    found = resolve_sender(services.store, WORKSPACE, first, said)
    assert found is not None
    assert found.record_on == e164


@settings(
    max_examples=examples(0.5),
    deadline=None,
    # Each example writes in a workspace of its own: the shared store does not leak.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(deliveries=st.lists(st.sampled_from(sorted(DELIVERIES)), min_size=1, max_size=6))
def test_deliveries_in_any_order_and_repeated_make_one_lead_from_every_lookup(
    services: Services, deliveries: list[str]
) -> None:
    workspace = f"ws-{uuid4().hex[:12]}"
    for minute, name in enumerate(deliveries):
        deliver(services, list(DELIVERIES[name]), f"wamid.{name}", minute, workspace)
    service = services.service
    by_phone = service.current_lead_id(workspace, E164)
    if {"both"} <= set(deliveries) or not {"bsuid only", "phone only"} <= set(deliveries):
        # Linked (or only one id ever seen): every id finds the one lead with every message.
        seen = [n for n in DELIVERIES if n in deliveries]
        if "both" in deliveries:
            assert service.current_lead_id(workspace, f"wa_user:{BSUID}") == by_phone
        key = E164 if any(n != "bsuid only" for n in seen) else f"wa_user:{BSUID}"
        assert timeline(services, key, workspace) == sorted(f"wamid.{n}" for n in seen)
        leads, _ = service.read_views(
            lambda conn, t: queries.list_leads(conn, t, workspace, queries.LeadQuery())
        )
        assert len(leads) == 1
