"""Ids seen together in real Meta deliveries become one customer (issue: identity that
survives WhatsApp's quirks): a BSUID-only customer whose phone shows up later, and a
customer who changes number, are each one lead from every lookup; redelivery appends
nothing and answers the same. Bodies are the recorded fixtures, re-addressed to the test
workspace's number."""

from __future__ import annotations

import copy
import json
from typing import Any

from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.support import AUTH, PHONE_NUMBER_ID, ledger_size, meta_headers
from tests.whatsapp_fixtures import FIXTURES

BSUID = "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "meta" / name).read_text())
    for entry in body["entry"]:
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
    return body


def value_of(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return value


def post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    resp = client.post("/webhook/meta", content=raw, headers=meta_headers(raw))
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def lead_id(client: TestClient, path: str) -> str:
    resp = client.get(path, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["lead_id"])


def test_a_bsuid_customer_whose_phone_shows_up_later_is_one_lead(
    client: TestClient, services: Services
) -> None:
    first = fixture("bsuid_username_only_text.json")
    later = copy.deepcopy(first)
    message = value_of(later)["messages"][0]
    message["id"] = message["id"].replace("AA", "AB", 1)
    message["from"] = "6281234567890"
    value_of(later)["contacts"][0]["wa_id"] = "6281234567890"

    answers = [post(client, first), post(client, later)]
    services.views.catch_up()
    by_user = lead_id(client, f"/leads/by-user-id/{BSUID}")
    by_phone = lead_id(client, "/leads/by-phone/+6281234567890")
    assert by_user == by_phone

    size = ledger_size(services)
    assert [post(client, first), post(client, later)] == answers  # same answers again
    assert ledger_size(services) == size  # and nothing appended


def test_a_number_change_keeps_the_customer_on_one_lead(
    client: TestClient, services: Services
) -> None:
    change = fixture("system_user_changed_number.json")
    system = value_of(change)["messages"][0]
    old, new = system["from"], system["system"]["wa_id"]
    hello = fixture("bsuid_username_only_text.json")
    value_of(hello)["contacts"] = []
    first = value_of(hello)["messages"][0]
    first.update({"from": old, "from_user_id": None})
    after = copy.deepcopy(hello)
    value_of(after)["messages"][0].update({"from": new, "id": first["id"] + "X"})

    for body in (hello, change, after):
        post(client, body)
    services.views.catch_up()
    assert lead_id(client, f"/leads/by-phone/+{old}") == lead_id(client, f"/leads/by-phone/+{new}")
