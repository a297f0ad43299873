"""Erasure covers the personal data of the content kept whole and of a person's other ids:
locations, contact cards, Flow answers, ad referral texts, BSUIDs, usernames, wa_id. The
erased values are in no database file or table afterwards (SQLite and PostgreSQL), the
views blank them, and the leads of the person's other ids are erased with the lead.

The write side's translators store these fields; here events carrying them are written
through the ledger directly (`RecordInboundWithContent` below adds the contract's fields to
the real event before it is stored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.commands import LeadCommand
from domain.envelope import Said
from domain.lead import Lead
from domain.whatsapp_identity import sender_identities
from service_layer.bootstrap import Services
from service_layer.lead_resolution import resolve_sender
from tests.e2e.test_erasure import erase, found_in_database
from tests.support import AUTH, WORKSPACE

AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PHONE_WA_ID, BSUID, USERNAME = "5215587654321", "MX.9911223344556677", "@rosa.mendez"
SECRETS = {
    "location": "Calle Secreta 742",
    "contact card": "Tia Lupita Confidencial",
    "flow answer": "Colonia Escondida",
    "referral": "Promo Exclusiva Rosa",
    "text": "hola soy Rosa",
}


@dataclass(frozen=True)
class RecordInboundWithContent(LeadCommand):
    message_id: str = ""
    message_type: str = "text"
    fields: dict[str, Any] = field(default_factory=dict)

    def apply(self, lead: Lead) -> bool:
        message_id, message_type, fields = self.message_id, self.message_type, dict(self.fields)
        if lead.knows(f"msg:{message_id}"):
            return False
        lead.record_inbound_message(self.said, message_id, message_type, fields.pop("text", None))
        # The contract's fields, on the event about to be stored: the store keeps (and seals)
        # every attribute, and reads them back as the write side's events will hold them.
        stored = lead.pending_events[-1]
        object.__setattr__(stored, "wa_id", PHONE_WA_ID)
        object.__setattr__(stored, "content", fields.get("content"))
        object.__setattr__(stored, "referral", fields.get("referral"))
        return True


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """SQLite and PostgreSQL only: the tests read the database files and tables themselves."""
    return durable_database_url


def seed(services: Services) -> str:
    """A person first known by BSUID and username, then seen with the phone too."""
    first = resolve_sender(
        services.store, WORKSPACE, sender_identities(None, BSUID, USERNAME), Said("m", "m", AT)
    )
    assert first is not None
    flow = {"response_json": json.dumps({"colonia": SECRETS["flow answer"]}), "name": "flow"}
    messages: list[tuple[str, str, dict[str, Any]]] = [
        ("wamid.loc", "location", {"content": {"location": {"address": SECRETS["location"]}}}),
        ("wamid.card", "contacts", {"content": {"contacts": [{"name": SECRETS["contact card"]}]}}),
        ("wamid.flow", "interactive", {"content": {"interactive": {"nfm_reply": flow}}}),
        (
            "wamid.ad",
            "text",
            {"text": SECRETS["text"], "referral": {"headline": SECRETS["referral"]}},
        ),
    ]
    said = Said("meta", "meta", AT, AT)
    commands = [RecordInboundWithContent(first.record_on, said, *m) for m in messages]
    services.ledger.record(WORKSPACE, [*commands, *first.links])
    both = resolve_sender(
        services.store, WORKSPACE, sender_identities(PHONE_WA_ID, BSUID), Said("m", "m", AT)
    )
    assert both is not None
    services.ledger.record(WORKSPACE, list(both.links))
    services.service.catch_up_views()
    return str(services.service.current_lead_id(WORKSPACE, "+525587654321"))


def test_erasure_blanks_content_and_other_ids_everywhere(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    lead_id = seed(services)
    assert client.get(f"/leads/by-user-id/{BSUID}", headers=AUTH).json()["lead_id"] == lead_id
    view = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert view["wa_user_id"] == BSUID
    assert view["phone"] == "+525587654321"
    assert view["flow_answers"]["answers"] == {"colonia": SECRETS["flow answer"]}
    assert view["last_location"]["address"] == SECRETS["location"]
    assert view["first_referral"]["headline"] == SECRETS["referral"]
    values = [*SECRETS.values(), BSUID, USERNAME, PHONE_WA_ID]
    # The scan sees what the views show in clear before (the ledger holds them sealed).
    shown = {SECRETS["flow answer"], SECRETS["location"], SECRETS["referral"], BSUID, USERNAME}
    assert found_in_database(services, tmp_path, values) >= shown

    assert erase(client, lead_id).status_code == 200
    view = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    for name in ("phone", "wa_user_id", "username", "linked_identities", "flow_answers"):
        assert view[name] is None, name
    assert view["last_location"] is None
    assert view["first_referral"] is None
    assert view["last_referral"] is None
    # The leads of the person's other ids went too: nothing to find by them any more.
    assert found_in_database(services, tmp_path, values) == set()
