"""The key, not the body, says who spoke (docs/security.md): a bot key cannot produce a
human's fact, take or lift a human hold, or write a note as a person; a console key's
facts name the person and the console. A refused request stores nothing."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from domain.identity import lead_id_for
from service_layer.bootstrap import Services
from tests.conftest import store_per_example
from tests.support import (
    BRAIN,
    BRAIN_AUTH,
    CONSOLE_AUTH,
    HUMAN,
    HUMAN_AUTH,
    SARAH_AUTH,
    WORKSPACE,
    auth,
    ledger_count,
)

PHONE = "+6281234567890"


def new_lead(client: TestClient, phone: str = PHONE) -> str:
    resp = client.post(
        "/sarah/state", json={"contact_phone": phone, "state": "greeting"}, headers=SARAH_AUTH
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["lead_id"])


def recorded(services: Services, lead_id: str) -> list[tuple[str, Any, Any, Any]]:
    """(event type, source, actor, principal) of every event on the lead."""
    return [
        (e.type, e.data.get("source"), e.data.get("actor"), e.data.get("principal"))
        for e in services.service.lead_history(UUID(lead_id))
    ]


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


def test_a_bot_key_cannot_speak_as_a_human(client: TestClient, services: Services) -> None:
    lead = new_lead(client)
    before = ledger_count(services)
    for body in (
        {"status": "converted", "source": "human"},
        {"status": "converted", "actor": HUMAN},
        {"status": "converted", "source": "brain", "actor": HUMAN},
        {"status": "converted", "on_behalf_of": HUMAN},
    ):
        resp = post(client, f"/leads/{lead}/status", body, BRAIN_AUTH)
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["code"] == "principal_mismatch"
    for path, body in (
        (f"/leads/{lead}/notes", {"content": "x", "author": HUMAN}),
        (f"/leads/{lead}/notes", {"content": "x", "source": "human"}),
    ):
        for bot in (BRAIN_AUTH, SARAH_AUTH):
            assert post(client, path, body, bot).status_code == 403
    assert ledger_count(services) == before

    # What a bot may say is recorded as the bot, whatever the body leaves out.
    brain = post(client, f"/leads/{lead}/status", {"status": "contacted"}, BRAIN_AUTH)
    assert brain.status_code == 200, brain.text
    change = brain.json()["status_change"]
    assert (change["source"], change["actor"]) == ("brain", BRAIN)
    assert change["principal"]["role"] == "brain"
    assert brain.json()["lead"]["status_held"] is False  # a bot never takes a human hold
    note = post(client, f"/leads/{lead}/notes", {"content": "from sarah"}, SARAH_AUTH)
    assert (note.json()["note"]["source"], note.json()["note"]["actor"]) == ("sarah", "sarah-bot")


def test_a_bot_key_cannot_lift_a_human_hold(client: TestClient, services: Services) -> None:
    lead = new_lead(client)
    held = post(client, f"/leads/{lead}/status", {"status": "qualified"}, HUMAN_AUTH)
    assert held.json()["lead"]["status_held"] is True
    before = ledger_count(services)
    for bot in (BRAIN_AUTH, SARAH_AUTH):
        resp = post(client, f"/leads/{lead}/status/release", {}, bot)
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["permission"] == "release"
    assert ledger_count(services) == before
    moved = post(client, f"/leads/{lead}/status", {"status": "archived"}, BRAIN_AUTH)
    assert moved.json()["outcome_reason"] == "held_by_human"
    assert moved.json()["lead"]["lead_status"] == "qualified"


def test_a_console_key_names_the_person_and_the_console(
    client: TestClient, services: Services
) -> None:
    lead = new_lead(client)
    before = ledger_count(services)
    missing = post(client, f"/leads/{lead}/status", {"status": "qualified"}, CONSOLE_AUTH)
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "on_behalf_of"
    other = {"status": "qualified", "on_behalf_of": "dewi", "actor": HUMAN}
    assert post(client, f"/leads/{lead}/status", other, CONSOLE_AUTH).status_code == 403
    assert ledger_count(services) == before

    body = {"status": "qualified", "on_behalf_of": "dewi", "actor": "dewi"}
    resp = post(client, f"/leads/{lead}/status", body, CONSOLE_AUTH)
    assert resp.status_code == 200, resp.text
    change = resp.json()["status_change"]
    assert (change["source"], change["actor"]) == ("human", "dewi via crm-console")
    assert change["principal"]["name"] == "crm-console"
    note = post(
        client, f"/leads/{lead}/notes", {"content": "n", "on_behalf_of": "dewi"}, CONSOLE_AUTH
    )
    assert note.json()["note"]["actor"] == "dewi via crm-console"
    events = recorded(services, lead)
    for kind in ("StatusRequested", "NoteAdded"):
        [(_, source, actor, principal)] = [e for e in events if e[0] == kind]
        assert (source, actor) == ("human", "dewi via crm-console")
        assert principal["role"] == "console"
        assert principal["on_behalf_of"] == "dewi"
        assert principal["key_id"].startswith("config:")
        assert "secret" not in principal
        assert "key" not in principal


NAMES = st.sampled_from([None, HUMAN, BRAIN, "sarah-bot", "dewi", "dewi via crm-console"])


@store_per_example(0.5)
@given(
    source=st.sampled_from([None, "human", "brain"]),
    actor=NAMES,
    person=st.sampled_from([None, "dewi"]),
    key=st.sampled_from(["brain", "human", "console"]),
)
def test_whatever_the_body_says_the_key_decides_source_and_actor(
    client: TestClient,
    services: Services,
    source: str | None,
    actor: str | None,
    person: str | None,
    key: str,
) -> None:
    headers = {"brain": BRAIN_AUTH, "human": HUMAN_AUTH, "console": CONSOLE_AUTH}[key]
    expected = {
        "brain": ("brain", BRAIN),
        "human": ("human", HUMAN),
        "console": ("human", f"{person} via crm-console"),
    }[key]
    lead = new_lead(client)
    body = {"status": "contacted", "source": source, "actor": actor, "on_behalf_of": person}
    before = ledger_count(services)
    resp = post(client, f"/leads/{lead}/status", body, headers)
    if resp.status_code != 200:
        assert resp.status_code in (403, 422), resp.text
        assert ledger_count(services) == before
        return
    change = resp.json()["status_change"]
    assert (change["source"], change["actor"]) == expected
    assert change["principal"]["role"] == key


def test_the_audit_filters_by_principal_name_or_key_id(client: TestClient) -> None:
    lead = new_lead(client)
    post(client, f"/leads/{lead}/notes", {"content": "a"}, HUMAN_AUTH)
    post(client, f"/leads/{lead}/notes", {"content": "b", "on_behalf_of": "dewi"}, CONSOLE_AUTH)
    post(client, f"/leads/{lead}/status", {"status": "contacted"}, BRAIN_AUTH)
    entries = client.get("/audit", headers=HUMAN_AUTH).json()["entries"]
    # Sarah's report proposed a status too: her key's principal is on it.
    assert sorted(e["principal"]["role"] for e in entries) == ["brain", "console", "human", "sarah"]
    by_name = client.get("/audit", params={"principal": "crm-console"}, headers=HUMAN_AUTH)
    [entry] = by_name.json()["entries"]
    assert (entry["content"], entry["actor"]) == ("b", "dewi via crm-console")
    key_id = entry["principal"]["key_id"]
    by_id = client.get("/audit", params={"principal": key_id}, headers=HUMAN_AUTH)
    assert by_id.json()["entries"] == [entry]
    nobody = client.get("/audit", params={"principal": "mallory"}, headers=HUMAN_AUTH)
    assert nobody.json()["entries"] == []


def test_an_import_records_the_importing_key(client: TestClient, services: Services) -> None:
    row = json.dumps({"_id": "legacy-9", "phone": "+6281299990009", "lead_status": "hot"})
    resp = client.post("/imports", json={"contacts": row + "\n"}, headers=auth("import"))
    assert resp.status_code == 200, resp.text
    lead_id = str(lead_id_for(WORKSPACE, "+6281299990009"))
    [(_, source, actor, principal)] = [
        e for e in recorded(services, lead_id) if e[0] == "ContactImported"
    ]
    assert (source, actor) == ("import", "import")  # as the rows say
    assert (principal["name"], principal["role"]) == ("importer", "import")
