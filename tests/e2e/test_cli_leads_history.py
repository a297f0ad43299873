"""`leadledger leads` and `leadledger history --json` against the database the API wrote,
on SQLite and PostgreSQL: the same leads, filters, pages and events as GET /leads and
GET /leads/{id}/events, in JSON without Python reprs; bad options change nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.cli.main import app as cli_app
from service_layer.bootstrap import Services
from tests.support import AUTH, WORKSPACE, kapso_inbound, post_kapso

PEOPLE = (  # phone, Sarah's name, temperature, score, business
    ("+6281211110001", "Budi", "hot", 90, "online shop"),
    ("+6281211110002", "Sari", "cold", 10, "bakery"),
    ("+6281211110003", "Dewi", "hot", 70, "laundry"),
)


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """SQLite and PostgreSQL only: the CLI opens the database the server wrote."""
    return durable_database_url


@pytest.fixture
def cli(services: Services, durable_database_url: str) -> Any:
    env = {
        "LEADLEDGER_DATABASE_URL": durable_database_url,
        "LEADLEDGER_CONFIG_FILE": str(services.settings.config_file),
    }

    def invoke(*args: str, code: int = 0) -> str:
        # The test settings have two workspaces: the CLI must be told which.
        chosen = [] if "--workspace" in args else ["--workspace", WORKSPACE]
        result = CliRunner().invoke(cli_app, [*args, *chosen], env=env)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


@pytest.fixture
def seeded(client: TestClient, services: Services) -> dict[str, str]:
    """Three leads with a message each and Sarah's report; their ids by phone."""
    ids = {}
    for n, (phone, name, temperature, score, business) in enumerate(PEOPLE):
        element = kapso_inbound(f"wamid.cli-{n}", phone[1:], phone, name=f"{name} WA")
        assert post_kapso(client, element, "whatsapp.message.received").status_code == 200
        answer = client.post(
            "/sarah/state",
            headers=AUTH,
            json={
                "contact_phone": phone,
                "state": "collect_domisili",
                "lead_score": score,
                "lead_temperature": temperature,
                "extracted_data": {"name": name, "business_type": business},
            },
        )
        assert answer.status_code == 200, answer.text
        ids[phone] = answer.json()["lead_id"]
    services.views.catch_up()
    return ids


def api(client: TestClient, path: str) -> Any:
    answer = client.get(path, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("options", "query"),
    [
        ((), ""),
        (("--temperature", "hot"), "temperature=hot"),
        (("--status", "new", "--temperature", "cold"), "status=new&temperature=cold"),
        (("--q", "BAKER"), "q=BAKER"),
        (("--sort", "lead_score", "--order", "asc"), "sort=lead_score&order=asc"),
    ],
)
def test_leads_json_is_the_api_answer(
    client: TestClient, cli: Any, seeded: dict[str, str], options: tuple[str, ...], query: str
) -> None:
    printed = json.loads(cli("leads", "--json", *options))
    assert printed == api(client, f"/leads?{query}")
    assert printed["leads"], "the filter should match someone"


def test_leads_pages_follow_the_cursor(
    client: TestClient, cli: Any, seeded: dict[str, str]
) -> None:
    seen = []
    cursor: list[str] = []
    for _ in range(len(PEOPLE)):
        page = json.loads(cli("leads", "--json", "--sort", "lead_score", "--limit", "1", *cursor))
        seen += [lead["lead_id"] for lead in page["leads"]]
        if page["next_cursor"] is None:
            break
        cursor = ["--cursor", page["next_cursor"]]
    by_score = [seeded[p[0]] for p in sorted(PEOPLE, key=lambda p: -p[3])]
    assert seen == by_score


def test_leads_table_names_each_lead(cli: Any, seeded: dict[str, str]) -> None:
    table = cli("leads", "--temperature", "hot")
    flat = table  # ids and phones are never wrapped or cut, even 80 columns wide
    for phone, _name, temperature, *_ in PEOPLE:
        assert (seeded[phone] in flat) == (temperature == "hot")
        assert (phone in flat) == (temperature == "hot")


@pytest.mark.parametrize(
    "bad",
    [
        ("--status", "bogus"),
        ("--temperature", "tepid"),
        ("--limit", "0"),
        ("--limit", "201"),
        ("--cursor", "not-a-cursor"),
        ("--sort", "name"),
        ("--workspace", "nobody"),
    ],
)
def test_bad_options_are_refused(cli: Any, seeded: dict[str, str], bad: tuple[str, ...]) -> None:
    assert "Usage" in cli("leads", *bad, code=2)


def test_history_json_is_the_events_answer(
    client: TestClient, cli: Any, seeded: dict[str, str]
) -> None:
    phone = PEOPLE[0][0]
    lead_id = seeded[phone]
    printed = json.loads(cli("history", "0" + phone[3:], "--json"))
    # Every event, as the API's pages give them (here one page: next_after is null).
    answer = api(client, f"/leads/{lead_id}/events")
    assert answer["next_after"] is None
    assert printed == {"lead_id": answer["lead_id"], "events": answer["events"]}
    types = [event["type"] for event in printed["events"]]
    assert "SarahPhaseReported" in types
    assert "InboundMessageReceived" in types
    sarah = next(e for e in printed["events"] if e["type"] == "SarahPhaseReported")
    assert sarah["data"]["extracted_data"]["sarah_name"] == "Budi"  # an object, not a repr
    for event in printed["events"]:
        assert datetime.fromisoformat(event["recorded_at"]).utcoffset() is not None


def test_history_table_shows_no_python_reprs(cli: Any, seeded: dict[str, str]) -> None:
    table = cli("history", PEOPLE[0][0])
    assert "'sarah_name'" not in table
    assert "ExtractedData(" not in table
    assert '"sarah_name"' in table
