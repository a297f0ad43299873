"""The Lead aggregate's own rules for imports and erasure, checked on the aggregate alone
(the import and erasure e2e tests reach them through the stores, too slowly for mutation
runs): which rows are new facts, what a ContactImported records, what erasure forgets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.envelope import Said
from domain.idempotency import IdempotencyKeyReusedError
from domain.lead import Lead
from domain.lead_events import conversation_fact, import_fact
from domain.legacy import LegacyContactRow
from domain.principal import Principal, Role
from domain.values import Source

AT = datetime(2025, 11, 24, 16, tzinfo=UTC)
CREATED = datetime(2023, 5, 1, 9, tzinfo=UTC)
UPDATED = datetime(2024, 1, 31, 7, tzinfo=UTC)
IMPORT = Said(Source.IMPORT, "import", AT, UPDATED, None)
ROW = LegacyContactRow(
    "c1",
    convex_id="c1",
    supabase_id="s1",
    name="Budi",
    legacy_status="hot",
    lead_score=80,
    metadata={"city": "Bandung"},
    created_at=CREATED,
    updated_at=UPDATED,
)


def new_lead() -> Lead:
    lead = Lead(workspace="acme", phone="+6281234567890", source="kapso", actor="k", received_at=AT)
    lead.collect_events()
    return lead


def recorded(lead: Lead) -> list[dict[str, Any]]:
    return [vars(event) for event in lead.collect_events()]


def test_a_contact_import_records_the_row_as_the_legacy_app_wrote_it() -> None:
    lead = new_lead()
    assert lead.import_contact(IMPORT, ROW)
    (event,) = recorded(lead)
    assert {k: event[k] for k in ("legacy_id", "convex_id", "supabase_id", "name")} == {
        "legacy_id": "c1",
        "convex_id": "c1",
        "supabase_id": "s1",
        "name": "Budi",
    }
    assert (event["legacy_status"], event["lead_score"], event["metadata"]) == (
        "hot",
        80,
        {"city": "Bandung"},
    )
    assert (event["legacy_created_at"], event["legacy_updated_at"]) == (CREATED, UPDATED)
    assert event["changed"] == ["name", "status", "lead_score", "metadata"]
    assert event["mapped_at_import"] is None
    assert (event["source"], event["actor"], event["occurred_at"]) == ("import", "import", UPDATED)
    assert (event["received_at"], event["idempotency_key"]) == (AT, None)


def test_the_same_row_twice_is_one_fact_and_a_to_b_to_a_is_three() -> None:
    lead = new_lead()
    renamed = LegacyContactRow("c1", name="Budi S.", legacy_status="hot", lead_score=80)
    assert lead.import_contact(IMPORT, ROW)
    assert not lead.import_contact(IMPORT, ROW)
    assert lead.import_contact(IMPORT, renamed)
    assert lead.import_contact(IMPORT, ROW)
    changes = [event["changed"] for event in recorded(lead)]
    assert changes == [
        ["name", "status", "lead_score", "metadata"],
        ["name", "metadata"],
        ["name", "metadata"],
    ]


def test_a_row_with_nothing_but_its_id_is_recorded_once() -> None:
    """Every group equals 'nothing imported yet': only the remembered import fact stops the
    second copy."""
    lead = new_lead()
    bare = LegacyContactRow("c9")
    assert lead.import_contact(IMPORT, bare)
    assert not lead.import_contact(IMPORT, bare)
    assert [event["changed"] for event in recorded(lead)] == [[]]


def test_erasure_records_who_when_why_and_forgets_the_personal_attributes() -> None:
    lead = new_lead()
    lead.report_contact_name(Said(Source.KAPSO, "kapso", AT, AT, None), "Budi")
    lead.collect_events()
    by = Said(Source.HUMAN, "dewi", AT, AT, None)
    assert lead.erase_personal_data(by, "gdpr request")
    (event,) = recorded(lead)
    assert (event["reason"], event["source"], event["actor"]) == ("gdpr request", "human", "dewi")
    assert lead.erased
    assert (lead.phone, lead.reported_name, lead.last_sarah_report) == (None, None, None)


def test_an_erased_lead_records_nothing_more() -> None:
    lead = new_lead()
    by = Said(Source.HUMAN, "dewi", AT, AT, None)
    assert lead.erase_personal_data(by, "gdpr request")
    lead.collect_events()
    assert not lead.erase_personal_data(by, "again")
    assert not lead.import_contact(IMPORT, ROW)
    assert recorded(lead) == []


def test_stored_fact_keys_keep_their_format() -> None:
    """Fact keys are stored (snapshots, IdentityLinked.merged_facts): a changed spelling would
    make redeliveries of facts recorded before an upgrade look new."""
    assert conversation_fact("c1", "opened", None) == "conv:c1:opened:"
    assert conversation_fact("c1", "opened", {"since_message_id": "m1"}) == "conv:c1:opened:m1"
    assert import_fact("c1") == "import:c1"


# -- who said it, and one key for one request (docs/security.md, docs/api.md) ---------------

DEWI = Principal("acme", Role.HUMAN, "dewi", "key-dewi")


def said_by(principal: Principal, key: str | None = None, source: str = Source.HUMAN) -> Said:
    return Said(source, principal.name, AT, AT, key, principal)


def test_command_events_record_the_principal_that_made_them() -> None:
    lead = new_lead()
    sarah = Principal("acme", Role.SARAH, "sarah-bot", "key-sarah")
    importer = Principal("acme", Role.IMPORT, "importer", "key-import")
    admin = Principal("acme", Role.ADMIN, "admin", "key-admin")
    assert lead.report_sarah_phase(
        said_by(sarah, source=Source.SARAH), "greeting", {}, 10, None, None
    )
    assert lead.import_contact(said_by(importer, source=Source.IMPORT), ROW)
    assert lead.erase_personal_data(said_by(admin), "gdpr request")
    recorded_by = [event["principal"] for event in recorded(lead)]
    assert recorded_by == [sarah.record(), importer.record(), admin.record()]


def test_a_key_reused_for_another_request_is_refused() -> None:
    lead = new_lead()
    assert lead.request_status(said_by(DEWI, "k1"), "qualified", "demo")
    assert not lead.request_status(said_by(DEWI, "k1"), "qualified", "demo")  # a retry
    with pytest.raises(IdempotencyKeyReusedError):
        lead.request_status(said_by(DEWI, "k1"), "archived", "spam")
    assert len(recorded(lead)) == 1


def test_one_delivery_key_may_carry_many_messages() -> None:
    """Messages dedup on their WhatsApp ids, not on the delivery's idempotency key."""
    lead = new_lead()
    kapso = Said(Source.KAPSO, "kapso", AT, AT, "delivery-1")
    assert lead.record_inbound_message(kapso, "wamid.1", "text", "halo")
    assert lead.record_inbound_message(kapso, "wamid.2", "text", "harga?")
    assert not lead.record_inbound_message(kapso, "wamid.1", "text", "halo")
    assert len(recorded(lead)) == 2


def test_a_redelivered_name_report_is_known_by_its_time_and_spelling() -> None:
    lead = new_lead()
    first = Said(Source.KAPSO, "kapso", AT, AT, None)
    assert lead.report_contact_name(first, "Budi")
    assert lead.report_contact_name(first, "Budi S.")  # same time, another spelling
    assert not lead.report_contact_name(first, "Budi")  # the first report, redelivered
    assert [event["name"] for event in recorded(lead)] == ["Budi", "Budi S."]
