"""The Lead aggregate's own rules for imports and erasure, checked on the aggregate alone
(the import and erasure e2e tests reach them through the stores, too slowly for mutation
runs): which rows are new facts, what a ContactImported records, what erasure forgets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.envelope import Said
from domain.lead import Lead
from domain.lead_events import conversation_fact, import_fact
from domain.legacy import LegacyContactRow
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
