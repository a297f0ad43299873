"""The legacy import on every backend: views, re-imports, changed rows, rejects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from adapters.legacy_import.readers import read_file
from adapters.legacy_import.report import Summary
from domain.identity import lead_id_for
from projections.source import lead_history
from service_layer.bootstrap import Services
from service_layer.legacy_import import LegacyImport
from tests.support import AUTH, HUMAN, HUMAN_AUTH, WORKSPACE, ledger_size

MS = 1_706_600_000_000
BUDI, SITI, RINA = "+6281234567890", "+6285712345678", "+6281398765432"


def at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def contacts_rows() -> list[dict[str, Any]]:
    return [
        {
            "_id": "c1",
            "supabaseId": "s1",
            "kapso_name": "Budi",
            "phone": "0812-3456-7890",
            "lead_status": "hot",
            "lead_score": 80,
            "metadata": {"source": "ig"},
            "created_at": MS,
            "updated_at": MS + 60_000,
        },
        {
            "_id": "c2",
            "kapso_name": "Siti",
            "phone": "+62 857 1234 5678",
            "lead_status": "client",
            "created_at": MS,
            "updated_at": MS + 120_000,
        },
        {"_id": "c3", "phone": "6281398765432", "lead_status": "cold", "created_at": MS},
        {"_id": "c4", "phone": "12", "lead_status": "hot"},
        {"_id": "c5", "phone": "0812-1111-2222", "lead_status": "lukewarm"},
    ]


def notes_rows() -> list[dict[str, Any]]:
    return [
        {
            "_id": "n1",
            "contact_id": "c1",
            "user_id": "sarah-bot",
            "content": "wants a demo",
            "created_at": MS + 1000,
        },
        {
            "_id": "n2",
            "contact_id": "s1",
            "user_id": "user_7",
            "content": "called back",
            "created_at": MS + 2000,
        },
        {"_id": "n3", "contact_id": "c9", "user_id": "user_7", "content": "orphan"},
        {"_id": "n4", "contact_id": "c4", "user_id": "user_7", "content": "of a bad row"},
    ]


def write(path: Path, rows: list[dict[str, Any]], broken: str | None = None) -> Path:
    lines = [json.dumps(r) for r in rows] + ([broken] if broken else [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(
    services: Services, contacts: Path, notes: Path | None, rejects: Path | None = None
) -> Summary:
    with (rejects or contacts.with_suffix(".rejects")).open("w") as out:
        job = LegacyImport(services.ledger, WORKSPACE, rejects_out=out)
        notes_rows = read_file(notes, "jsonl") if notes else ()
        summary = job.run(read_file(contacts, "jsonl"), notes_rows)
    services.views.catch_up()
    return summary


def lead(client: TestClient, phone: str, what: str = "") -> Any:
    lead_id = lead_id_for(WORKSPACE, phone)
    resp = client.get(f"/leads/{lead_id}{what}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_import_shows_contacts_statuses_notes_and_rejects(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    contacts = write(tmp_path / "contacts.jsonl", contacts_rows(), broken='{"_id": "c6", "pho')
    notes = write(tmp_path / "notes.jsonl", notes_rows())
    rejects = tmp_path / "rejects.jsonl"
    summary = run(services, contacts, notes, rejects).as_json()

    assert summary["contacts"] == {"read": 6, "imported": 3, "unchanged": 0}
    assert summary["notes"] == {"read": 4, "imported": 2, "unchanged": 0}
    assert summary["leads_created"] == 3
    assert summary["events_appended"] == ledger_size(services) == 3 + 3 + 2
    assert summary["rejected"]["by_reason"] == {
        "broken_json": 1,
        "unusable_phone": 1,
        "unknown_status": 1,
        "unknown_contact": 1,
        "contact_rejected": 1,
    }
    found = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert {(r["file"], r["line"], r["reason"]) for r in found} == {
        ("contacts.jsonl", 4, "unusable_phone"),
        ("contacts.jsonl", 5, "unknown_status"),
        ("contacts.jsonl", 6, "broken_json"),
        ("notes.jsonl", 3, "unknown_contact"),
        ("notes.jsonl", 4, "contact_rejected"),
    }
    assert next(r for r in found if r["line"] == 6)["raw"] == '{"_id": "c6", "pho'

    budi = lead(client, BUDI)
    assert (budi["name"], budi["lead_status"], budi["lead_temperature"]) == (
        "Budi",
        "qualified",
        "hot",
    )
    assert budi["lead_score"] == 80
    assert budi["status_source"] == "import"
    assert budi["created_at"] == at(MS)
    assert budi["status_updated_at"] == at(MS + 60_000)
    siti, rina = lead(client, SITI), lead(client, RINA)
    assert (siti["lead_status"], siti["lead_temperature"]) == ("converted", None)
    assert (rina["lead_status"], rina["lead_temperature"], rina["name"]) == ("new", "cold", None)

    history = lead(client, BUDI, "/status-history")["history"]
    assert [(h["source"], h["to"], h["outcome"], h["reason"]) for h in history] == [
        (
            "import",
            "qualified",
            "applied",
            "imported: legacy lead_status 'hot' → qualified (temperature hot)",
        )
    ]
    notes_view = lead(client, BUDI, "/notes")["notes"]
    assert [(n["actor"], n["source"], n["content"], n["at"]) for n in notes_view] == [
        ("sarah", "import", "wants a demo", at(MS + 1000)),
        ("user_7", "import", "called back", at(MS + 2000)),
    ]
    imported = [
        e
        for e in lead_history(services.store, lead_id_for(WORKSPACE, BUDI))
        if e.type == "ContactImported"
    ]
    assert len(imported) == 1
    data = imported[0].data
    assert (data["legacy_id"], data["convex_id"], data["supabase_id"]) == ("c1", "c1", "s1")
    assert data["metadata"] == {"source": "ig"}
    assert data["legacy_status"] == "hot"


def test_reimport_appends_nothing(services: Services, tmp_path: Path) -> None:
    contacts = write(tmp_path / "contacts.jsonl", contacts_rows())
    notes = write(tmp_path / "notes.jsonl", notes_rows())
    run(services, contacts, notes)
    size = ledger_size(services)
    again = run(services, contacts, notes).as_json()
    assert ledger_size(services) == size
    assert again["events_appended"] == 0
    assert again["leads_created"] == 0
    assert again["contacts"] == {"read": 5, "imported": 0, "unchanged": 3}
    assert again["notes"] == {"read": 4, "imported": 0, "unchanged": 2}
    assert again["duplicates_skipped"] == 5


def test_changed_rows_add_only_the_changes(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    rows = contacts_rows()
    run(services, write(tmp_path / "v1.jsonl", rows), write(tmp_path / "n1.jsonl", notes_rows()))
    size = ledger_size(services)
    rows[0] |= {"lead_status": "client", "updated_at": MS + 3_600_000}
    rows[1] |= {"kapso_name": "Siti Aminah", "updated_at": MS + 3_600_000}
    notes = notes_rows()
    notes[0]["content"] = "wants a demo on Monday"
    summary = run(services, write(tmp_path / "v2.jsonl", rows), write(tmp_path / "n2.jsonl", notes))
    assert summary.as_json()["contacts"] == {"read": 5, "imported": 2, "unchanged": 1}
    assert summary.events_appended == ledger_size(services) - size == 3
    events = list(lead_history(services.store, lead_id_for(WORKSPACE, BUDI)))
    assert events[-2].type == "ContactImported"
    assert events[-2].data["changed"] == ["status"]
    budi, siti = lead(client, BUDI), lead(client, SITI)
    # Only the status changed: the name, score and temperature said before still stand.
    assert (budi["lead_status"], budi["lead_temperature"], budi["lead_score"]) == (
        "converted",
        "hot",
        80,
    )
    assert (siti["name"], siti["lead_status"]) == ("Siti Aminah", "converted")
    history = lead(client, BUDI, "/status-history")["history"]
    assert [h["to"] for h in history] == ["qualified", "converted"]
    assert len(lead(client, BUDI, "/notes")["notes"]) == 3


def test_imported_status_yields_to_live_sources_by_rank_and_time(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    """A human's live status outranks (and holds against) any later import."""
    lead_id = lead_id_for(WORKSPACE, BUDI)
    run(services, write(tmp_path / "c.jsonl", contacts_rows()[:1]), None)
    resp = client.post(
        f"/leads/{lead_id}/status",
        headers=HUMAN_AUTH,
        json={"status": "contacted", "source": "human", "actor": HUMAN},
    )
    assert resp.status_code == 200, resp.text
    rows = contacts_rows()[:1]
    rows[0] |= {"lead_status": "lost", "updated_at": MS + 10**9}
    run(services, write(tmp_path / "c2.jsonl", rows), None)
    history = lead(client, BUDI, "/status-history")["history"]
    assert (history[-1]["to"], history[-1]["outcome_reason"]) == ("archived", "held_by_human")
    assert lead(client, BUDI)["lead_status"] == "contacted"
