"""Erasure of a person by crypto-shredding, through the API and the CLI, on SQLite and
PostgreSQL: the erased values are nowhere in the database files or tables afterwards, a
backup taken before cannot be read, a rebuild still works, other leads stay readable, and
the same phone starts a new, unlinked history.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore, open_store
from adapters.keys.key_backends import SqliteKeyBackend
from adapters.keys.key_store import KeyStore
from adapters.webhooks.payloads import kapso_message
from api.cli.main import app as cli_app
from api.http.app import create_app
from domain.commands import LeadCommand, RecordInboundMessage
from domain.envelope import Said
from domain.lead import Lead
from domain.personal import pseudonym
from domain.values import Source
from projections.rebuild import rebuild
from projections.snapshots import SNAPSHOT_EVERY
from projections.state import read_state
from projections.tables import view_tables
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import PG_DSN, settings_for
from tests.support import (
    API_KEY,
    AUTH,
    OTHER_AUTH,
    PHONE_NUMBER_ID,
    WORKSPACE,
    kapso_headers,
    post_kapso,
)


@dataclass(frozen=True)
class Person:
    phone: str
    name: str  # Kapso's contact name
    sarah_name: str
    business: str
    city: str
    text: str
    note: str
    reason: str

    @property
    def digits(self) -> str:
        return self.phone.lstrip("+")

    @property
    def secrets(self) -> list[str]:
        return [
            self.phone,
            self.digits,
            self.name,
            self.sarah_name,
            self.business,
            self.city,
            self.text,
            self.note,
            self.reason,
        ]


ERASED = Person(
    "+6281377770001",
    "Rahasia Kontak",
    "Rahasia Sarahnama",
    "TokoRahasiaXyz",
    "Kotarahasiaq",
    "pesan rahasia nomor satu",
    "catatan sangat rahasia",
    "alasan status rahasia",
)
KEPT = Person(
    "+6281377770002",
    "Terbuka Kontak",
    "Terbuka Sarahnama",
    "TokoTerbukaXyz",
    "Kotaterbukaq",
    "pesan terbuka nomor dua",
    "catatan terbuka",
    "alasan status terbuka",
)


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """SQLite and PostgreSQL only: the tests read the database files and tables themselves."""
    return durable_database_url


def inbound(client: TestClient, person: Person, text: str, at: int) -> str:
    # Like WhatsApp's, the message id embeds the phone; Kapso's ids (conversation,
    # delivery) do not.
    message_id = f"wamid.{person.digits}.{at}"
    body = kapso_message(
        message_id,
        person.phone,
        phone_number_id=PHONE_NUMBER_ID,
        conversation_id=f"conv_{abs(hash(person.phone)) % 10**8}",
        text=text,
        sender=person.digits,
        timestamp=str(at),
        message_kapso={"content": text},
        conversation_kapso={"contact_name": person.name},
        new_conversation=True,
    )
    resp = post_kapso(client, body, "whatsapp.message.received", idempotency_key=f"dlv-{at}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


def seed(client: TestClient, person: Person) -> str:
    lead_id = inbound(client, person, person.text, 1764000000)
    resp = client.post(
        "/sarah/state",
        headers=AUTH,
        json={
            "contact_phone": person.phone,
            "state": "collect_domisili",
            "lead_score": 40,
            "lead_temperature": "warm",
            "extracted_data": {
                "name": person.sarah_name,
                "business_type": person.business,
                "domisili": person.city,
            },
        },
    )
    assert resp.status_code == 200, resp.text
    resp = client.post(
        f"/leads/{lead_id}/notes", headers=AUTH, json={"content": person.note, "author": "agent-1"}
    )
    assert resp.status_code == 200, resp.text
    resp = client.post(
        f"/leads/{lead_id}/status",
        headers=AUTH,
        json={
            "status": "qualified",
            "source": "human",
            "actor": "agent-1",
            "reason": person.reason,
        },
    )
    assert resp.status_code == 200, resp.text
    return lead_id


def unknown_delivery(client: TestClient, mention: str) -> None:
    """A signed delivery of a kind the translators do not know: kept raw, unattributed."""
    body = json.dumps(
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "widget": {"caller": mention, "note": f"about {mention}"},
        }
    ).encode()
    headers = kapso_headers(body, "whatsapp.widget.spun", idempotency_key=f"u-{mention}")
    resp = client.post("/webhook/kapso", content=body, headers=headers)
    assert resp.json()["kept_unhandled"] == 1, resp.text


def erase(client: TestClient, lead_id: str, **body: Any) -> Any:
    payload = {"actor": "dpo@acme", "reason": "data subject request 42", **body}
    return client.request("DELETE", f"/leads/{lead_id}/personal-data", headers=AUTH, json=payload)


def found_in_database(services: Services, tmp_path: Path, values: list[str]) -> set[str]:
    """The values present in any database file (SQLite: every file, WAL included) or in
    any row of any table of the test schema (PostgreSQL)."""
    if services.database.kind == "sqlite":
        blobs = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
        return {v for v in values if any(v.encode() in blob for blob in blobs)}
    schema = services.database.schema
    found: set[str] = set()
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        for table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            text = "\n".join(r[0] for r in rows)
            # The events are bytea: compare the escaped text too.
            found |= {v for v in values if v in text or v.encode().hex() in text}
    return found


def lead(client: TestClient, lead_id: str) -> Any:
    resp = client.get(f"/leads/{lead_id}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    return resp.json()


def rows(client: TestClient, lead_id: str) -> dict[str, Any]:
    return {
        what: client.get(f"/leads/{lead_id}/{what}", headers=AUTH).json()
        for what in ("messages", "notes", "status-history", "events")
    }


def test_erasure_through_the_api(client: TestClient, services: Services, tmp_path: Path) -> None:
    erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
    spelled = "0813-7777-0001"  # ERASED's phone as a person writes it
    unknown_delivery(client, spelled)
    unknown_delivery(client, KEPT.phone)
    services.views.catch_up()
    assert set(ERASED.secrets) <= found_in_database(services, tmp_path, ERASED.secrets) | {
        ERASED.reason
    }  # sanity: the scan sees plain values (the views hold them)

    resp = erase(client, erased_id)

    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert (answer["erased"], answer["appended"], answer["erased_by"]) == (True, True, "dpo@acme")
    assert answer["deliveries_erased"] == 1
    assert found_in_database(services, tmp_path, [*ERASED.secrets, spelled]) == set()
    kept_raw = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert sorted(d["body"] is None for d in kept_raw) == [False, True]
    assert any(KEPT.phone in (d["body"] or "") for d in kept_raw)
    view = lead(client, erased_id)
    assert view["erased"] is True
    assert view["erasure_reason"] == "data subject request 42"
    assert view["phone"] is None
    assert view["name"] is None
    assert view["extracted"] == {}
    assert view["lead_status"] == "qualified"
    assert view["chat_phase"] == "collect_domisili"
    erased_rows = rows(client, erased_id)
    assert [m["text"] for m in erased_rows["messages"]["messages"]] == [None]
    assert [n["content"] for n in erased_rows["notes"]["notes"]] == [""]
    assert [h["reason"] for h in erased_rows["status-history"]["history"]] == [
        "sarah phase collect_domisili",
        None,
    ]  # Sarah's derives from her phase: it stays
    as_of = client.get(
        f"/leads/{erased_id}", headers=AUTH, params={"as_of": "2999-01-01T00:00:00Z"}
    ).json()
    assert {k: as_of[k] for k in ("erased", "phone", "name", "lead_status")} == {
        "erased": True,
        "phone": None,
        "name": None,
        "lead_status": "qualified",
    }
    # The other lead is untouched, in the views and in its events.
    kept = lead(client, kept_id)
    assert (kept["phone"], kept["name"], kept["erased"]) == (KEPT.phone, KEPT.name, False)
    assert found_in_database(services, tmp_path, [KEPT.phone, KEPT.name]) == {KEPT.phone, KEPT.name}
    assert KEPT.text in str(rows(client, kept_id)["events"])


def test_a_repeat_is_idempotent_and_bad_requests_change_nothing(
    client: TestClient, services: Services
) -> None:
    lead_id = seed(client, ERASED)
    for body, field in (({"actor": ""}, "actor"), ({"reason": " "}, "reason")):
        resp = erase(client, lead_id, **body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["field"] == field
    assert lead(client, lead_id)["erased"] is False
    assert (
        client.request(
            "DELETE",
            f"/leads/{lead_id}/personal-data",
            headers=OTHER_AUTH,
            json={"actor": "x", "reason": "y"},
        ).status_code
        == 404
    )
    first = erase(client, lead_id).json()
    again = erase(client, lead_id, actor="someone else")
    assert again.status_code == 200
    assert again.json() == {**first, "appended": False}
    assert (
        client.post(
            f"/leads/{lead_id}/notes", headers=AUTH, json={"content": "x", "author": "a"}
        ).status_code
        == 404
    )


def test_a_backup_taken_before_cannot_be_read_after(client: TestClient, services: Services) -> None:
    erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
    store = services.store
    backup = {i: store.recorder.select_events(UUID(i)) for i in (erased_id, kept_id)}
    before = [vars(store.mapper.to_domain_event(s)) for s in backup[erased_id]]

    assert erase(client, erased_id).status_code == 200

    after = [vars(store.mapper.to_domain_event(s)) for s in backup[erased_id]]
    assert ERASED.text in str(before)
    assert not any(s in str(after) for s in ERASED.secrets)
    audit = (
        "originator_version",
        "timestamp",
        "source",
        "actor",
        "received_at",
        "message_type",
        "status",
        "chat_phase",
    )
    assert [{k: e.get(k) for k in audit} for e in after] == [
        {k: e.get(k) for k in audit} for e in before
    ]
    assert [e.get("message_id") for e in after] == [
        pseudonym(e["message_id"]) if e.get("message_id") else None for e in before
    ]
    kept = str([vars(store.mapper.to_domain_event(s)) for s in backup[kept_id]])
    assert KEPT.text in kept
    assert KEPT.phone in kept


def test_a_rebuild_after_erasure_shows_the_same_views(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
    assert erase(client, erased_id).status_code == 200
    live = {i: (lead(client, i), rows(client, i)) for i in (erased_id, kept_id)}
    with services.engines.read.connect() as conn:
        policy = read_state(conn).active_policy

    result = rebuild(services.engines.write, services.store, policy)

    assert result.generation != result.previous_generation
    rebuilt = {i: (lead(client, i), rows(client, i)) for i in (erased_id, kept_id)}
    assert rebuilt == live
    assert found_in_database(services, tmp_path, ERASED.secrets) == set()


def test_the_same_phone_starts_a_new_unlinked_history(
    client: TestClient, services: Services
) -> None:
    erased_id = seed(client, ERASED)
    assert erase(client, erased_id).status_code == 200

    new_id = inbound(client, ERASED, "halo lagi", 1764000900)

    assert new_id != erased_id
    services.views.catch_up()
    fresh = lead(client, new_id)
    assert (fresh["phone"], fresh["inbound_count"], fresh["erased"]) == (ERASED.phone, 1, False)
    assert fresh["lead_status"] == "new"
    assert [m["text"] for m in rows(client, new_id)["messages"]["messages"]] == ["halo lagi"]
    by_phone = client.get(f"/leads/by-phone/{ERASED.digits}", headers=AUTH).json()
    assert by_phone["lead_id"] == new_id
    assert lead(client, erased_id)["erased"] is True


def test_erasure_through_the_cli(
    client: TestClient, services: Services, tmp_path: Path, durable_database_url: str
) -> None:
    erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
    env = {
        "LEADLEDGER_DATABASE_URL": durable_database_url,
        "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
    }
    args = [
        "forget",
        "0" + ERASED.digits[2:],
        "--workspace",
        WORKSPACE,
        "--actor",
        "dpo@acme",
        "--reason",
        "ticket 7",
    ]

    result = CliRunner().invoke(cli_app, args, env=env)

    assert result.exit_code == 0, result.output
    assert "Erased" in result.output
    assert erased_id in result.output
    services.views.catch_up()
    assert lead(client, erased_id)["erased"] is True
    assert found_in_database(services, tmp_path, ERASED.secrets) == set()
    assert lead(client, kept_id)["name"] == KEPT.name
    again = CliRunner().invoke(cli_app, args, env=env)
    assert again.exit_code == 0, again.output
    assert "Already erased" in again.output


def test_sqlite_file_backups_taken_before_the_erasure(tmp_path: Path) -> None:
    """A copy of the ledger file taken before reads shredded with today's keys; a restored
    old copy of the keys file is shredded again by `leadledger forget-again`."""
    url = f"sqlite:///{tmp_path}/data/ledger.db"
    settings = settings_for(url, tmp_path)
    built = bootstrap(settings)
    try:
        with TestClient(create_app(built.service)) as client:
            erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
            data, backup = tmp_path / "data", tmp_path / "backup"
            backup.mkdir()
            for name in ("ledger.db", "ledger.keys.db"):
                _copy_sqlite(data / name, backup / name)
            assert erase(client, erased_id).status_code == 200
    finally:
        built.close()

    old_ledger = open_store(DatabaseURL.parse(f"sqlite:///{backup}/ledger.db"))
    old_ledger.keys.close()  # the backed-up keys: not what this test reads with
    old_ledger.keys = KeyStore(SqliteKeyBackend(data / "ledger.keys.db"))
    old_ledger.mapper.keys = old_ledger.keys  # type: ignore[attr-defined]
    events = str([vars(e) for e in old_ledger.events.get(UUID(erased_id))])
    assert not any(s in events for s in ERASED.secrets)
    assert KEPT.text in str([vars(e) for e in old_ledger.events.get(UUID(kept_id))])
    old_ledger.close()

    _copy_sqlite(backup / "ledger.keys.db", data / "ledger.keys.db")  # an old key backup
    env = {
        "LEADLEDGER_DATABASE_URL": url,
        "LEADLEDGER_DATA_DIR": str(tmp_path),
        "LEADLEDGER_API_KEYS": f"{WORKSPACE}={API_KEY}",
    }
    result = CliRunner().invoke(cli_app, ["forget-again"], env=env)
    assert result.exit_code == 0, result.output
    assert "Re-applied 1 erasure" in result.output
    store = open_store(DatabaseURL.parse(url))
    events = str([vars(e) for e in store.events.get(UUID(erased_id))])
    store.close()
    assert not any(s in events for s in ERASED.secrets)


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


# -- a long-lived lead: erasure reaches its aggregate and view snapshots --------------------

SNAPSHOT_INTERVALS = (LedgerStore.snapshotting_intervals[Lead], SNAPSHOT_EVERY)


def lengthen(services: Services, person: Person, events: int) -> None:
    """`events` more inbound messages on the person's lead, each carrying their text and a
    message id that embeds the phone, recorded in batches that straddle the intervals."""
    messages: list[LeadCommand] = [
        RecordInboundMessage(
            person.phone,
            Said(Source.KAPSO, "kapso", datetime.now(UTC), None, f"long-{i}"),
            message_id=f"wamid.{person.digits}.long.{i}",
            text=f"{person.text} ({i})",
        )
        for i in range(events)
    ]
    for start in range(0, events, 73):
        recording = services.ledger.record(WORKSPACE, messages[start : start + 73])
        assert recording.appended == len(messages[start : start + 73])


def view_snapshot_positions(services: Services, lead_id: str) -> list[int]:
    with services.engines.read.connect() as conn:
        table = view_tables(read_state(conn).active_generation).snapshots
        query = select(table.c.position).where(table.c.lead_id == lead_id)
        return sorted(conn.execute(query.order_by(table.c.position)).scalars())


def aggregate_snapshot_versions(services: Services, lead_id: str) -> list[int]:
    assert services.store.snapshots is not None
    return [s.originator_version for s in services.store.snapshots.get(UUID(lead_id))]


def test_erasing_a_lead_past_every_snapshot_interval(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    """A lead two intervals and more long has aggregate snapshots (event store, sealed) and
    view snapshots (views, in clear); after the erasure no database file or table holds
    the person's values, and the lead's view snapshots are gone."""
    erased_id, kept_id = seed(client, ERASED), seed(client, KEPT)
    lengthen(services, ERASED, 2 * max(SNAPSHOT_INTERVALS) + 17)
    services.views.catch_up()
    # Snapshots exist where each interval says, and the scan sees the values before.
    version: int = services.store.repository.get(UUID(erased_id)).version
    aggregate_every, view_every = SNAPSHOT_INTERVALS
    assert aggregate_snapshot_versions(services, erased_id) == list(
        range(aggregate_every, version + 1, aggregate_every)
    )
    assert view_snapshot_positions(services, erased_id) == list(
        range(view_every, version + 1, view_every)
    )
    assert set(ERASED.secrets) <= found_in_database(services, tmp_path, ERASED.secrets)

    assert erase(client, erased_id).status_code == 200
    services.views.catch_up()

    assert found_in_database(services, tmp_path, ERASED.secrets) == set()
    assert view_snapshot_positions(services, erased_id) == []
    if services.database.kind == "sqlite":  # the scan read the ledger, views and keys files
        scanned = {p.name for p in tmp_path.rglob("*.db")}
        assert {"ledger.db", "ledger.views.db", "ledger.keys.db"} <= scanned
    as_of = client.get(
        f"/leads/{erased_id}", headers=AUTH, params={"as_of": "2999-01-01T00:00:00Z"}
    ).json()
    assert (as_of["erased"], as_of["phone"], as_of["name"]) == (True, None, None)
    assert lead(client, kept_id)["name"] == KEPT.name
