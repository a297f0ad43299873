"""An Idempotency-Key names one request (Stripe's rule), over HTTP on every backend:

- the same key with the same body replays the first answer exactly (and says so in
  `Idempotent-Replayed: true`), even after later facts changed the lead;
- the same key with a different body is refused, 422 `idempotency_key_reused`, and stores
  nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.support import (
    CONSOLE_AUTH,
    HUMAN_AUTH,
    KAPSO_RECEIVED,
    SARAH_AUTH,
    kapso_headers,
    ledger_count,
    sample,
    sample_json,
)

# route (given the lead id) -> (the key that speaks, first body, a different body under the
# same idempotency key). The release is a console's, so that two releases can differ: the
# person it acts for.
Route = Callable[[str], str]
COMMANDS: dict[str, tuple[Route, dict[str, str], dict[str, Any], dict[str, Any]]] = {
    "status": (
        lambda lead: f"/leads/{lead}/status",
        HUMAN_AUTH,
        {"status": "archived", "reason": "spam"},
        {"status": "qualified", "reason": "spam"},
    ),
    "release": (
        lambda lead: f"/leads/{lead}/status/release",
        CONSOLE_AUTH,
        {"on_behalf_of": "ana"},
        {"on_behalf_of": "budi"},
    ),
    "note": (
        lambda lead: f"/leads/{lead}/notes",
        HUMAN_AUTH,
        {"content": "Called, wants a demo"},
        {"content": "Called, not interested"},
    ),
    "sarah": (
        lambda _lead: "/sarah/state",
        SARAH_AUTH,
        sample_json("sarah-phase1-gathering.json"),
        {**sample_json("sarah-phase1-gathering.json"), "lead_score": 99},
    ),
}


@pytest.fixture
def lead_id(client: TestClient) -> str:
    body = sample("kapso-message-received.json")
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, KAPSO_RECEIVED))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


def send(
    client: TestClient, path: str, body: dict[str, Any], key: str, auth: dict[str, str]
) -> Any:
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": key}
    return client.post(path, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_reused_key_with_another_body_is_refused_and_stores_nothing(
    client: TestClient, services: Services, lead_id: str, command: str
) -> None:
    route, auth, first, other = COMMANDS[command]
    assert send(client, route(lead_id), first, f"key-{command}", auth).status_code == 200
    before = ledger_count(services)

    resp = send(client, route(lead_id), other, f"key-{command}", auth)

    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert (error["code"], error["field"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert ledger_count(services) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_same_key_and_body_replay_the_first_answer_exactly(
    client: TestClient, services: Services, lead_id: str, command: str
) -> None:
    route, auth, first, _ = COMMANDS[command]
    answer = send(client, route(lead_id), first, f"same-{command}", auth)
    assert answer.status_code == 200, answer.text
    # Newer facts change the lead before the retry.
    later = {"status": "contacted"}
    assert send(client, f"/leads/{lead_id}/status", later, "later", HUMAN_AUTH).status_code == 200
    services.views.catch_up()
    before = ledger_count(services)

    again = send(client, route(lead_id), first, f"same-{command}", auth)

    assert again.status_code == 200, again.text
    assert again.json() == answer.json()
    assert ledger_count(services) == before
    if command != "sarah":  # Sarah's answer is only the lead and the fact
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in answer.headers


def test_a_status_replay_keeps_its_own_fact_and_decision(
    client: TestClient, services: Services, lead_id: str
) -> None:
    """The answer that once mixed the retry's fact with the first decision."""
    route, auth, first, _ = COMMANDS["status"]
    answer = send(client, route(lead_id), first, "status-key", auth).json()
    again = send(client, route(lead_id), first, "status-key", auth).json()
    assert again["fact"] == answer["fact"] == "status_request:archived"
    assert again["status_change"] == answer["status_change"]
    assert again["lead"]["lead_status"] == "archived"
