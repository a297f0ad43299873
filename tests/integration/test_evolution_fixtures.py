"""Events stored by the v1 code still load, on memory, SQLite and PostgreSQL.

The rows of tests/fixtures/events_v1 (written by the old code, byte for byte) are inserted
with the store's recorder; the leads then load through today's classes (v1 Sarah reports
upcast to v2) and project into the same aggregate state and the same views as the same
facts recorded today.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection

from domain.commands import RecordInboundMessage, ReportSarahPhase
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.extracted import ExtractedData
from domain.identity import lead_id_for, unhandled_delivery_id_for
from domain.lead import Lead
from projections.queries import get_view, messages, notes, read_views, status_history
from projections.tables import ViewTables
from service_layer.bootstrap import Services
from service_layer.erasure import erase_lead
from tests.conftest import services_at
from tests.fixtures.events_v1.facts import BUDI, SITI, WORKSPACE, v1_commands

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events_v1"
LEADS = {"budi": lead_id_for(WORKSPACE, BUDI), "siti": lead_id_for(WORKSPACE, SITI)}
# Set when an aggregate is created or changed: the store's clock, not the facts.
CLOCK_FIELDS = {"_created_on", "_modified_on"}


def fixture_rows(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return rows


def stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=base64.b64decode(row["state_b64"]),
    )


def insert_v1_events(services: Services) -> None:
    services.store.recorder.insert_events([stored(r) for r in fixture_rows("events.json")])


def record_today(services: Services) -> None:
    for command in v1_commands():
        services.ledger.record(WORKSPACE, [command])


def lead(services: Services, name: str) -> Lead:
    loaded: object = services.store.repository.get(LEADS[name])
    assert isinstance(loaded, Lead)
    return loaded


def state(aggregate: Lead, *ignore: str) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k not in {*CLOCK_FIELDS, *ignore}}


def read_lead(services: Services, name: str) -> dict[str, Any]:
    """The lead's views after a catch-up; `updated_at` is the store's clock, left out."""
    services.views.catch_up()

    def read(conn: Connection, t: ViewTables) -> dict[str, Any]:
        view = get_view(conn, t, WORKSPACE, LEADS[name])
        assert view is not None
        return {
            "contact": replace(view, updated_at=view.created_at),
            "history": status_history(conn, t, view),
            "notes": notes(conn, t, view),
            "messages": messages(conn, t, view),
        }

    return read_views(services.engines.read, read)


def test_v1_events_give_the_state_and_views_of_the_same_facts_recorded_today(
    backend: str, tmp_path: Path
) -> None:
    with (
        services_at(backend, tmp_path / "v1") as old,
        services_at(backend, tmp_path / "today") as today,
    ):
        insert_v1_events(old)
        record_today(today)
        for name in LEADS:
            assert state(lead(old, name)) == state(lead(today, name))
            assert read_lead(old, name) == read_lead(today, name)
        budi, siti = read_lead(old, "budi")["contact"], read_lead(old, "siti")["contact"]
        # Phase 2's nulls did not erase phase 1; the v1 list and text became typed fields.
        assert (budi.sarah_name, budi.business_duration) == ("Budi", "3 tahun")
        assert budi.pain_points == ["kewalahan balas chat", "miss message malam hari"]
        # Phase 4 sent no score: phase 3's stays. Brain's status outranks Sarah's `completed`.
        assert (budi.lead_score, budi.lead_temperature) == (82, "hot")
        assert (budi.lead_status, budi.status_source) == ("qualified", "brain")
        assert (siti.sarah_name, siti.business_duration) == ("Siti", "2")
        assert siti.pain_points == ["ongkir mahal"]
        # Keys v2 does not model are kept, as Sarah said them.
        assert siti.extracted["favourite_color"] == "hijau"
        assert siti.extracted["lead_score"] == "75"


def test_v1_sarah_reports_are_read_as_v2(backend: str, tmp_path: Path) -> None:
    given = [
        r["state_json"]
        for r in fixture_rows("events.json")
        if r["topic"] == "domain.lead:Lead.SarahPhaseReported"
    ]
    assert given
    assert all("class_version" not in s for s in given)  # stored by the v1 code
    with services_at(backend, tmp_path) as services:
        insert_v1_events(services)
        loaded = [
            e
            for name in LEADS
            for e in services.store.events.get(LEADS[name])
            if isinstance(e, Lead.SarahPhaseReported)
        ]
    assert [e.extracted_data for e in loaded] == [
        ExtractedData.from_sarah(s["extracted_data"]).to_event() for s in given
    ]
    assert loaded[0].extracted_data["sarah_name"] == "Budi"
    assert loaded[1].extracted_data["sarah_name"] is None  # Sarah's null: said nothing
    assert [e.lead_score for e in loaded] == [s["lead_score"] for s in given]


def test_unhandled_deliveries_of_v1_load(backend: str, tmp_path: Path) -> None:
    with services_at(backend, tmp_path) as services:
        insert_v1_events(services)
        kept: object = services.store.repository.get(
            unhandled_delivery_id_for(WORKSPACE, "kapso:fixture")
        )
    assert isinstance(kept, UnhandledDelivery)
    assert (kept.workspace, kept.reingested, kept.version) == (WORKSPACE, True, 2)


def test_a_v1_snapshot_loads_and_keeps_deduplicating(backend: str, tmp_path: Path) -> None:
    with (
        services_at(backend, tmp_path / "v1") as old,
        services_at(backend, tmp_path / "replayed") as replayed,
    ):
        # Only the snapshot: the lead can load from nothing else.
        assert old.store.snapshots is not None
        old.store.snapshots.recorder.insert_events(
            [stored(r) for r in fixture_rows("snapshots.json")]
        )
        insert_v1_events(replayed)
        from_snapshot, from_events = lead(old, "budi"), lead(replayed, "budi")
        # The v1 fingerprint of Sarah's last report hashes her raw object: it only decides
        # whether the very next identical report is a retry; what later code derives from
        # events (name report keys and time, keyed requests' fingerprints) is not in an
        # older snapshot (docs/evolution.md).
        later = ("last_sarah_report", "reported_name_at", "requests", "facts")
        assert state(from_snapshot, *later) == state(from_events, *later)
        assert from_snapshot.facts == {
            k: v for k, v in from_events.facts.items() if not k.startswith("name:")
        }
        at = datetime(2025, 3, 2, tzinfo=UTC)
        again = RecordInboundMessage(BUDI, Said("kapso", "kapso", at), "wamid.in1", "text", "x")
        new = ReportSarahPhase(BUDI, Said("sarah", "sarah-bot", at), "greeting", {"name": "B"})
        recording = old.ledger.record(WORKSPACE, [again, new])
    assert [f.appended for f in recording.facts] == [False, True]


def test_erased_v1_reports_upcast_from_redacted_values(backend: str, tmp_path: Path) -> None:
    """Erasure redacts the personal values of old, unsealed events too (as None): the
    upcaster turns them into empty typed data, and the phases still count."""
    with services_at(backend, tmp_path) as services:
        insert_v1_events(services)
        erase_lead(services.ledger, WORKSPACE, LEADS["budi"], "dpo@acme", "subject request")
        reports = [
            e
            for e in services.store.events.get(LEADS["budi"])
            if isinstance(e, Lead.SarahPhaseReported)
        ]
        view = read_lead(services, "budi")["contact"]
    assert [e.chat_phase for e in reports] == [
        "collect_domisili",
        "validate_pain_points",
        "close_attempt",
        "completed",
    ]
    assert all(e.extracted_data == ExtractedData().to_event() for e in reports)
    assert all(e.lead_score is None for e in reports)
    assert (view.sarah_name, view.pain_points, view.extracted) == (None, None, {})
