"""The legacy import end to end: `leadledger import` on SQLite, and `POST /imports`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.http.app import create_app
from domain.identity import lead_id_for
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import API_KEY, AUTH, OTHER_API_KEY, WORKSPACE, ledger_size

MS = 1_706_600_000_000
BUDI = "+6281234567890"
CONTACTS_CSV = (
    "_id,supabaseId,kapso_name,phone,lead_status,lead_score,metadata,created_at,updated_at\n"
    f'c1,s1,Budi,0812-3456-7890,hot,80,"{{""source"": ""ig""}}",{MS},{MS + 60_000}\n'
    f"c2,s2,Siti,+62 857 1234 5678,lost,,,{MS},{MS}\n"
    "c3,s3,Nobody,not a phone,warm,,,,\n"
)
NOTES_CSV = (
    "_id,contact_id,user_id,content,created_at\n"
    f'n1,c1,sarah-bot,"asked about\nprices",{MS + 1000}\n'
    f"n2,c3,user_7,never imported,{MS}\n"
)


def leadledger(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).with_name("leadledger")
    return subprocess.run(
        [str(binary), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("jobs", ["1", "2"])  # one process, and two worker processes
def test_cli_imports_csv_and_reimport_adds_nothing(
    tmp_path: Path, durable_database_url: str, jobs: str
) -> None:
    url = durable_database_url  # SQLite and PostgreSQL
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env |= {
        "LEADLEDGER_DATABASE_URL": url,
        "LEADLEDGER_API_KEYS": f"{WORKSPACE}={API_KEY}",
        "LEADLEDGER_DATA_DIR": str(tmp_path),
    }
    (tmp_path / "contacts.csv").write_text(CONTACTS_CSV, encoding="utf-8")
    (tmp_path / "notes.csv").write_text(NOTES_CSV, encoding="utf-8")

    first = leadledger(
        "import",
        "contacts.csv",
        "notes.csv",
        "--json",
        "--update-views",
        "--jobs",
        jobs,
        "--new-ledger",  # nothing recorded here yet: the import starts the ledger
        env=env,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["contacts"] == {"read": 3, "imported": 2, "unchanged": 0}
    assert summary["notes"] == {"read": 2, "imported": 1, "unchanged": 0}
    assert summary["rejected"]["by_reason"] == {"contact_rejected": 1, "unusable_phone": 1}
    rejects = [json.loads(line) for line in (tmp_path / "contacts.rejects.jsonl").open()]
    assert {(r["file"], r["line"], r["reason"]) for r in rejects} == {
        ("contacts.csv", 4, "unusable_phone"),
        ("notes.csv", 4, "contact_rejected"),
    }
    assert "contacts" in first.stderr  # the progress bar

    again = leadledger(
        "import", "contacts.csv", "notes.csv", "--json", "--jobs", jobs, env=env, cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["events_appended"] == 0

    services = bootstrap(settings_for(url, tmp_path))
    try:
        assert ledger_size(services) == summary["events_appended"]
        with TestClient(create_app(services.service)) as client:
            lead_id = lead_id_for(WORKSPACE, BUDI)
            view = client.get(f"/leads/{lead_id}", headers=AUTH).json()
            assert (view["name"], view["lead_status"], view["lead_temperature"]) == (
                "Budi",
                "qualified",
                "hot",
            )
            notes = client.get(f"/leads/{lead_id}/notes", headers=AUTH).json()["notes"]
            assert [(n["actor"], n["content"]) for n in notes] == [("sarah", "asked about\nprices")]
    finally:
        services.close()


def test_cli_refuses_a_bad_mapping_before_recording(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env |= {
        "LEADLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
        "LEADLEDGER_API_KEYS": f"{WORKSPACE}={API_KEY}",
        "LEADLEDGER_DATA_DIR": str(tmp_path),
    }
    (tmp_path / "contacts.csv").write_text(CONTACTS_CSV, encoding="utf-8")
    (tmp_path / "m.toml").write_text('[legacy_status]\nhot = { status = "won" }\n')
    done = leadledger("import", "contacts.csv", "--mapping", "m.toml", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown status 'won'" in done.stderr


# -- POST /imports -----------------------------------------------------------------------------


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


CONTACTS: list[dict[str, Any]] = [
    {
        "_id": "c1",
        "kapso_name": "Budi",
        "phone": "0812-3456-7890",
        "lead_status": "warm",
        "created_at": MS,
        "updated_at": MS,
    },
    {"_id": "c2", "phone": "0857 1234 5678", "lead_status": "won"},
]
NOTES: list[dict[str, Any]] = [
    {"_id": "n1", "contact_id": "c1", "user_id": "sarah-bot", "content": "hi", "created_at": MS},
]


def test_http_import_answers_summary_and_rejects_and_is_idempotent(
    client: TestClient,
) -> None:
    body = {"contacts": jsonl(CONTACTS) + "{oops\n", "notes": jsonl(NOTES)}
    resp = client.post("/imports", json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["summary"]["contacts"] == {"read": 3, "imported": 1, "unchanged": 0}
    assert answer["summary"]["events_appended"] == 3
    assert [(r["file"], r["line"], r["reason"]) for r in answer["rejects"]] == [
        ("contacts", 2, "unknown_status"),
        ("contacts", 3, "broken_json"),
    ]
    assert answer["rejects_truncated"] is False

    again = client.post("/imports", json=body, headers=AUTH).json()
    assert again["summary"]["events_appended"] == 0
    assert again["summary"]["duplicates_skipped"] == 2
    # The other workspace's key imports into its own workspace only.
    other = client.post("/imports", json=body, headers={"Authorization": f"Bearer {OTHER_API_KEY}"})
    assert other.json()["summary"]["leads_created"] == 1
    lead_id = lead_id_for(WORKSPACE, BUDI)
    client.app.state.service.catch_up_views()  # type: ignore[attr-defined]
    view = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert (view["lead_status"], view["lead_temperature"]) == ("qualified", "warm")


def test_http_import_takes_multipart_csv_and_a_mapping(client: TestClient) -> None:
    mapping = '[legacy_status]\nhot = { status = "contacted" }\nlost = { status = "archived" }\n'
    resp = client.post(
        "/imports",
        headers=AUTH,
        files={
            "contacts": ("contacts.csv", CONTACTS_CSV.encode(), "text/csv"),
            "notes": ("notes.csv", NOTES_CSV.encode(), "text/csv"),
        },
        data={"mapping": mapping},
    )
    assert resp.status_code == 200, resp.text
    summary = resp.json()["summary"]
    assert summary["contacts"]["imported"] == 2
    assert summary["notes"]["imported"] == 1
    client.app.state.service.catch_up_views()  # type: ignore[attr-defined]
    lead_id = lead_id_for(WORKSPACE, BUDI)
    history = client.get(f"/leads/{lead_id}/status-history", headers=AUTH).json()["history"]
    # The request's table decides which values are accepted; the views map the recorded
    # value with the policy's table (docs/legacy-mapping.md): a mapping change is a rebuild.
    assert [(h["to"], h["reason"]) for h in history] == [
        ("qualified", "imported: legacy lead_status 'hot' → qualified (temperature hot)")
    ]


def test_http_import_bad_requests_change_nothing(client: TestClient, services: Services) -> None:
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"json": {"contacts": jsonl(CONTACTS)}, "headers": {}}, 401, None),
        ({"content": b"{not json", "headers": AUTH}, 400, "body"),
        ({"json": {"notes": jsonl(NOTES)}, "headers": AUTH}, 422, "contacts"),
        (
            {
                "json": {"contacts": jsonl(CONTACTS), "mapping": "[legacy_status]\nhot = 1"},
                "headers": AUTH,
            },
            422,
            "mapping",
        ),
        ({"files": {"notes": ("n.jsonl", b"{}")}, "headers": AUTH}, 422, "contacts"),
        ({"json": {"contacts": "x" * 70_000}, "headers": AUTH}, 413, "body"),
    ]
    for kwargs, status, field in cases:
        resp = client.post("/imports", **kwargs)
        assert resp.status_code == status, (kwargs.keys(), resp.text)
        if field is not None:
            assert resp.json()["error"]["field"] == field
        assert ledger_size(services) == 0
