"""A signed delivery carrying NUL characters is kept as said in the ledger; the views (whose
PostgreSQL text columns cannot hold NUL) show U+FFFD instead of freezing the lead."""

from __future__ import annotations

from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.support import AUTH, post_kapso, sample_json


def test_nul_in_contact_name_and_text_does_not_freeze_the_view(
    client: TestClient, services: Services
) -> None:
    body = sample_json("kapso-message-received.json")
    body["conversation"]["kapso"]["contact_name"] = "Bu\x00di"
    body["message"]["text"]["body"] = "halo\x00kak"
    answer = post_kapso(client, body, "whatsapp.message.received")
    assert answer.status_code == 200, answer.text
    lead_id = answer.json()["facts"][0]["lead_id"]
    services.views.catch_up()
    assert services.views.status().failures == 0
    lead = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert lead["name"] == "Bu\ufffddi"
    messages = client.get(f"/leads/{lead_id}/messages", headers=AUTH).json()["messages"]
    assert [m["text"] for m in messages] == ["halo\ufffdkak"]
    events = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    names = [e["data"]["name"] for e in events if e["type"] == "ContactNameReported"]
    assert names == ["Bu\x00di"]  # the ledger keeps exactly what was said
