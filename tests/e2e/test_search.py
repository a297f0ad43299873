"""`GET /leads?q=` over HTTP on every backend: case-insensitive in any script (SQLite's
lower() folds ASCII only), and a phone typed the local way finds the lead like its
international spelling (the workspace's default region, Indonesia here)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from adapters.webhooks.payloads import kapso_message
from service_layer.bootstrap import Services
from tests.support import AUTH, KAPSO_RECEIVED, PHONE_NUMBER_ID, kapso_headers

PEOPLE = {"+6281912345678": "ÖMER Çelik", "+6281311110002": "Sari Wulandari"}


@pytest.fixture
def people(client: TestClient, services: Services) -> dict[str, str]:
    """Lead id by name, each lead created by a Kapso message naming its contact."""
    ids = {}
    for number, (phone, name) in enumerate(PEOPLE.items()):
        element = kapso_message(
            f"wamid.search.{number}",
            phone,
            phone_number_id=PHONE_NUMBER_ID,
            conversation_id=f"conv-search-{number}",
            text="Halo",
            sender=phone,
            conversation_kapso={"contact_name": name},
        )
        raw = json.dumps(element).encode()
        headers = kapso_headers(raw, KAPSO_RECEIVED)
        resp = client.post("/webhook/kapso", content=raw, headers=headers)
        assert resp.status_code == 200, resp.text
        ids[name] = resp.json()["facts"][0]["lead_id"]
    services.views.catch_up()
    return ids


def found(client: TestClient, q: str) -> set[str]:
    resp = client.get("/leads", params={"q": q}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return {lead["lead_id"] for lead in resp.json()["leads"]}


@pytest.mark.parametrize("q", ["ömer", "ÖMER", "Ömer ç", "çelik", "ÇELIK"])
def test_non_ascii_names_match_case_insensitively(
    client: TestClient, people: dict[str, str], q: str
) -> None:
    assert found(client, q) == {people["ÖMER Çelik"]}


@pytest.mark.parametrize("q", ["0819", "0819-1234-5678", "0819 1234", "+62 819 1234", "62819"])
def test_a_local_spelling_of_the_number_finds_the_lead(
    client: TestClient, people: dict[str, str], q: str
) -> None:
    assert found(client, q) == {people["ÖMER Çelik"]}


def test_search_still_takes_wildcards_literally(client: TestClient, people: dict[str, str]) -> None:
    assert found(client, "%") == set()
    assert found(client, "sari") == {people["Sari Wulandari"]}
