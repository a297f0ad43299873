"""Two answers through the HTTP API, on every backend: a release answers what the status
history records for it, and a non-text value in one of Sarah's text fields reads as JSON
text (never as a Python repr)."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.support import AUTH

PHONE = "+6281234567890"


def sarah(client: TestClient, state: str, extracted: dict[str, Any]) -> str:
    body = {"contact_phone": PHONE, "state": state, "extracted_data": extracted}
    resp = client.post("/sarah/state", json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["lead_id"])


def post(client: TestClient, lead_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = client.post(f"/leads/{lead_id}{path}", json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def history(client: TestClient, lead_id: str) -> list[dict[str, Any]]:
    resp = client.get(f"/leads/{lead_id}/status-history", headers=AUTH)
    return list(resp.json()["history"])


def test_a_release_with_nothing_held_answers_not_held(client: TestClient) -> None:
    lead_id = sarah(client, "listening", {})
    released = post(client, lead_id, "/status/release", {"actor": "ana"})
    assert (released["outcome"], released["outcome_reason"]) == ("no_change", "not_held")
    [entry] = [h for h in history(client, lead_id) if h["position"] == released["position"]]
    assert (entry["outcome"], entry["outcome_reason"]) == ("no_change", "not_held")
    assert released["status_change"]["outcome_reason"] == "not_held"
    assert released["lead"]["lead_status"] == "qualified"  # unchanged


def test_a_release_of_a_hold_answers_what_the_history_records(client: TestClient) -> None:
    lead_id = sarah(client, "listening", {})
    post(client, lead_id, "/status", {"status": "archived", "source": "human", "actor": "ana"})
    released = post(client, lead_id, "/status/release", {"actor": "ana"})
    assert (released["outcome"], released["outcome_reason"]) == ("applied", "hold_released")
    [entry] = [h for h in history(client, lead_id) if h["position"] == released["position"]]
    assert (entry["outcome"], entry["outcome_reason"]) == ("applied", "hold_released")
    again = post(client, lead_id, "/status/release", {"actor": "ana"})
    assert (again["outcome"], again["outcome_reason"]) == ("no_change", "not_held")


def test_objects_and_lists_in_sarah_text_fields_read_as_json_text(
    client: TestClient, services: Services
) -> None:
    extracted = {
        "name": {"first": "A", "last": "Ñ"},
        "domisili": ["Bandung", {"kota": "Bandung"}],
        "business_type": 7,
        "pain_points": [{"x": [1, 2]}, "stok"],
    }
    lead_id = sarah(client, "listening", extracted)
    services.views.catch_up()
    lead = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert lead["sarah_name"] == '{"first": "A", "last": "Ñ"}'
    assert json.loads(lead["sarah_name"]) == extracted["name"]
    assert lead["domisili"] == 'Bandung, {"kota": "Bandung"}'
    assert lead["business_type"] == "7"
    assert lead["pain_points"] == ['{"x": [1, 2]}', "stok"]
    shown = json.dumps(lead)
    assert "{'" not in shown
    assert "'}" not in shown
    events = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    [stored] = [e["data"]["extracted_data"] for e in events if "extracted_data" in e["data"]]
    assert stored["other"]["name"] == extracted["name"]  # kept whole, as Sarah sent it
    assert stored["domisili"] == 'Bandung, {"kota": "Bandung"}'
