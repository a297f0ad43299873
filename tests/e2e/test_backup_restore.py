"""`leadledger backup` / `leadledger restore`: a copy taken while the service runs serves
the same leads, views and histories once restored elsewhere (SQLite: the online backup API;
PostgreSQL: pg_dump into a new database); taken while a real server writes:
test_backup_while_serving.py. An erasure made after the backup is not in it: `forget <lead
id>` re-applies it. Refused backups and restores change nothing."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.conftest import PG_DSN, services_at
from tests.support import AUTH, WORKSPACE, kapso_inbound, post_kapso
from tests.support.cli import Cli, cli_on


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


@contextmanager
def restore_target(services: Services, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings for an empty place of the same kind: a new directory, or a new database
    (the dump carries its schema's name)."""
    config = str(tmp_path / "restored" / "workspaces.toml")
    if services.database.kind == "sqlite":
        url = f"sqlite:///{tmp_path}/restored/ledger.db"
        yield {"LEADLEDGER_DATABASE_URL": url, "LEADLEDGER_CONFIG_FILE": config}
        return
    database = f"ll_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    base = urlsplit(PG_DSN)._replace(path=f"/{database}").geturl()
    try:
        url = f"{base}?schema={services.database.schema}"
        yield {"LEADLEDGER_DATABASE_URL": url, "LEADLEDGER_CONFIG_FILE": config}
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def phone_of(n: int) -> str:
    return f"+62812333300{n:02d}"


def seed(client: TestClient) -> list[str]:
    """Four leads: messages, Sarah's reports, a human status and note, one erased."""
    ids = []
    for n in range(4):
        phone = phone_of(n)
        element = kapso_inbound(f"wamid.backup-{n}", phone[1:], phone, name=f"Person {n}")
        assert post_kapso(client, element, "whatsapp.message.received").status_code == 200
        answer = client.post(
            "/sarah/state",
            headers=AUTH,
            json={
                "contact_phone": phone,
                "state": "listening",
                "lead_score": 10 * n,
                "lead_temperature": "warm",
                "extracted_data": {"domisili": "Bandung"},
            },
        )
        ids.append(answer.json()["lead_id"])
    status = {"status": "qualified", "source": "human", "actor": "dewi", "reason": "demo"}
    assert client.post(f"/leads/{ids[1]}/status", headers=AUTH, json=status).status_code == 200
    note = {"content": "Called, wants a demo", "author": "dewi", "source": "human"}
    assert client.post(f"/leads/{ids[1]}/notes", headers=AUTH, json=note).status_code == 200
    erasure = {"actor": "dpo@acme", "reason": "ticket 9"}
    erased = client.request("DELETE", f"/leads/{ids[3]}/personal-data", headers=AUTH, json=erasure)
    assert erased.status_code == 200, erased.text
    return ids


def views_of(cli: Cli, lead_ids: list[str]) -> list[Any]:
    """Everything the CLI shows: the lead list and each lead's history."""
    shown = [json.loads(cli("leads", "--json", "--limit", "200", "--workspace", WORKSPACE))]
    for lead_id in lead_ids:
        shown.append(json.loads(cli("history", lead_id, "--json", "--workspace", WORKSPACE)))
    return shown


def test_a_backup_restores_the_same_leads(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    ids = seed(client)
    live = cli_on(
        {
            "LEADLEDGER_DATABASE_URL": services.settings.database_url,
            "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
        }
    )
    backup = tmp_path / "backup"
    assert "Backed up" in live("backup", str(backup))

    with restore_target(services, tmp_path) as target:
        restored = cli_on(target)
        assert "Restored" in restored("restore", str(backup))
        assert views_of(restored, ids) == views_of(live, ids)
        assert "OK" in restored("projections", "verify")
        [listed_erased] = [
            lead
            for lead in json.loads(restored("leads", "--json", "--workspace", WORKSPACE))["leads"]
            if lead["lead_id"] == ids[3]
        ]
        assert listed_erased["erased"] is True
        assert listed_erased["phone"] is None


def test_an_erasure_after_the_backup_is_re_applied_by_lead_id(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    ids = seed(client)
    live = cli_on(
        {
            "LEADLEDGER_DATABASE_URL": services.settings.database_url,
            "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
        }
    )
    live("backup", str(tmp_path / "backup"))
    erasure = {"actor": "dpo@acme", "reason": "ticket 10"}
    erased = client.request("DELETE", f"/leads/{ids[0]}/personal-data", headers=AUTH, json=erasure)
    assert erased.status_code == 200, erased.text

    with restore_target(services, tmp_path) as target:
        restored = cli_on(target)
        restored("restore", str(tmp_path / "backup"))
        back = json.loads(restored("history", ids[0], "--json", "--workspace", WORKSPACE))
        assert back["events"][0]["data"]["phone"] == phone_of(0)  # as the backup had it
        args = ("--workspace", WORKSPACE, "--actor", "dpo@acme", "--reason", "ticket 10")
        assert "Erased" in restored("forget", ids[0], *args)
        again = json.loads(restored("history", ids[0], "--json", "--workspace", WORKSPACE))
        assert again["events"][0]["data"]["phone"] is None


def test_refused_backups_and_restores_change_nothing(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    seed(client)
    live = cli_on(
        {
            "LEADLEDGER_DATABASE_URL": services.settings.database_url,
            "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
        }
    )
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert "not an empty directory" in live("backup", str(busy), code=1)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]

    backup = tmp_path / "backup"
    live("backup", str(backup))
    assert "is not a leadledger backup" in live("restore", str(busy), code=1)
    assert "Restore refused" in live("restore", str(backup), code=1)  # onto the live data

    with restore_target(services, tmp_path) as target:
        restored = cli_on(target)
        manifest = json.loads((backup / "manifest.json").read_text())
        ledger = next(f["name"] for f in manifest["files"] if f["role"] in ("ledger", "pg_dump"))
        with (backup / ledger).open("ab") as damaged:
            damaged.write(b"\0")
        assert "does not match its checksum" in restored("restore", str(backup), code=1)
        assert not (tmp_path / "restored").exists()


def test_memory_has_nothing_to_back_up(tmp_path: Path) -> None:
    memory = cli_on(
        {
            "LEADLEDGER_DATABASE_URL": "memory://",
            "LEADLEDGER_DATA_DIR": str(tmp_path),
        }
    )
    assert "nothing to back up" in memory("backup", str(tmp_path / "backup"), code=1)
    assert not (tmp_path / "backup").exists()


def test_the_ledgers_other_files_come_along(tmp_path: Path) -> None:
    """Files named `<ledger>.*` beside a SQLite ledger (key material, another database of
    ours) are backed up, and restored under the new ledger's name."""
    with services_at("sqlite", tmp_path / "live") as services:
        ledger = services.database.path
        assert ledger is not None
        (ledger.with_suffix(".master.key")).write_bytes(b"k" * 32)
        with sqlite3.connect(ledger.with_suffix(".extra.db")) as extra:
            extra.execute("CREATE TABLE t (v TEXT)")
            extra.execute("INSERT INTO t VALUES ('kept')")
        live = cli_on(
            {
                "LEADLEDGER_DATABASE_URL": services.settings.database_url,
                "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
            }
        )
        live("backup", str(tmp_path / "backup"))
    restored = cli_on(
        {
            "LEADLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/restored/data.db",
            "LEADLEDGER_CONFIG_FILE": str(tmp_path / "restored" / "ws.toml"),
        }
    )
    restored("restore", str(tmp_path / "backup"))
    assert (tmp_path / "restored" / "data.master.key").read_bytes() == b"k" * 32
    with sqlite3.connect(tmp_path / "restored" / "data.extra.db") as extra:
        assert extra.execute("SELECT v FROM t").fetchall() == [("kept",)]


@pytest.mark.postgres
def test_without_pg_dump_a_postgres_backup_is_refused(tmp_path: Path) -> None:
    with services_at("postgres", tmp_path / "live") as services:
        empty = tmp_path / "no-tools"
        empty.mkdir()
        live = cli_on(
            {
                "LEADLEDGER_DATABASE_URL": services.settings.database_url,
                "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
                "PATH": str(empty),
            }
        )
        assert "pg_dump is not installed" in live("backup", str(tmp_path / "backup"), code=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live", "no-tools"]  # no partial
