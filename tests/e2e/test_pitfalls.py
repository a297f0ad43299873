"""The seed's four pitfalls, through the HTTP API on every backend:

1. duplicate contacts: one number spelled three ways (Sarah) plus a webhook is one lead;
2. a status flipping between bot and human: a human's status holds until released;
3. phase 2 blanking phase 1's data: nulls never erase what Sarah extracted earlier;
4. lead status confused with conversation status: each moves on its own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.support import AUTH, BRAIN_AUTH, HUMAN_AUTH, SARAH_AUTH, post_kapso, sample, sample_json

BUDI = "+6281234567890"
PHASES = ("sarah-phase1-gathering.json", "sarah-phase2-interest.json", "sarah-phase3-closing.json")


def sarah_sample(client: TestClient, name: str) -> dict[str, Any]:
    resp = client.post(
        "/sarah/state",
        content=sample(name),
        headers={**SARAH_AUTH, "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def kapso_sample(client: TestClient, name: str, event: str) -> None:
    resp = post_kapso(client, sample(name), event, idempotency_key=f"idem-{name}")
    assert resp.status_code == 200, resp.text


def lead(client: TestClient, services: Services, lead_id: str) -> dict[str, Any]:
    services.views.catch_up()
    resp = client.get(f"/leads/{lead_id}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def command(client: TestClient, lead_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """As the key of the body's source: Brain's for brain, the human's otherwise."""
    headers = BRAIN_AUTH if body.get("source") == "brain" else HUMAN_AUTH
    resp = client.post(f"/leads/{lead_id}{path}", json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_duplicate_contacts_are_one_lead(client: TestClient, services: Services) -> None:
    spellings = {sample_json(name)["contact_phone"] for name in PHASES}
    assert len(spellings) == 3  # "+62 812-3456-7890", "081234567890", "6281234567890"
    ids = {sarah_sample(client, name)["lead_id"] for name in PHASES}
    kapso_sample(client, "kapso-message-received.json", "whatsapp.message.received")
    assert len(ids) == 1
    services.views.catch_up()
    leads = client.get("/leads", headers=AUTH).json()["leads"]
    assert [(x["lead_id"], x["phone"]) for x in leads] == [(ids.pop(), BUDI)]
    assert (leads[0]["inbound_count"], leads[0]["name"]) == (1, "Budi Santoso")
    for spelling in spellings:
        found = client.get(f"/leads/by-phone/{quote(spelling, safe='')}", headers=AUTH)
        assert found.json()["lead_id"] == leads[0]["lead_id"]


def test_human_status_holds_against_bots_until_released(
    client: TestClient, services: Services
) -> None:
    lead_id = sarah_sample(client, PHASES[0])["lead_id"]
    archived = command(
        client,
        lead_id,
        "/status",
        {"status": "archived", "source": "human", "actor": "ana", "reason": "not a buyer"},
    )
    assert (archived["outcome"], archived["lead"]["lead_status"]) == ("applied", "archived")
    brain = command(
        client, lead_id, "/status", {"status": "qualified", "source": "brain", "actor": "brain-1"}
    )
    assert (brain["outcome"], brain["outcome_reason"]) == ("suppressed", "held_by_human")
    sarah_sample(client, PHASES[1])  # validate_pain_points proposes "qualified"
    current = lead(client, services, lead_id)
    assert (current["lead_status"], current["status_source"], current["status_held"]) == (
        "archived",
        "human",
        True,
    )
    history = client.get(f"/leads/{lead_id}/status-history", headers=AUTH).json()["history"]
    assert [(h["source"], h["to"], h["outcome"], h["outcome_reason"]) for h in history[-3:]] == [
        ("human", "archived", "applied", "higher_priority"),
        ("brain", "qualified", "suppressed", "held_by_human"),
        ("sarah", "qualified", "suppressed", "held_by_human"),
    ]
    released = command(client, lead_id, "/status/release", {"actor": "ana"})
    assert (released["outcome"], released["outcome_reason"]) == ("applied", "hold_released")
    assert released["lead"]["lead_status"] == "archived"  # a release changes no status
    brain = command(
        client, lead_id, "/status", {"status": "qualified", "source": "brain", "actor": "brain-1"}
    )
    assert (brain["outcome"], brain["outcome_reason"]) == ("applied", "hold_released")
    assert (brain["lead"]["lead_status"], brain["lead"]["status_source"]) == ("qualified", "brain")


def test_phase_two_nulls_keep_phase_one_data(client: TestClient, services: Services) -> None:
    lead_id = ""
    for name in PHASES:
        lead_id = sarah_sample(client, name)["lead_id"]
    current = lead(client, services, lead_id)
    assert {
        k: current[k] for k in ("sarah_name", "business_type", "domisili", "business_duration")
    } == {
        "sarah_name": "Budi",
        "business_type": "online shop",
        "domisili": "Bandung",
        "business_duration": "3 tahun",
    }
    assert current["pain_points"] == ["kewalahan balas chat", "miss message malam hari"]
    assert (current["urgency_level"], current["closing_technique_used"]) == ("high", "summary")
    assert (current["lead_score"], current["lead_temperature"], current["chat_phase"]) == (
        82,
        "hot",
        "close_attempt",
    )
    assert current["extracted"]["name"] == "Budi"


def test_lead_status_and_conversation_status_move_apart(
    client: TestClient, services: Services
) -> None:
    kapso_sample(client, "kapso-message-received.json", "whatsapp.message.received")
    services.views.catch_up()
    lead_id = client.get(f"/leads/by-phone/{quote(BUDI, safe='')}", headers=AUTH).json()["lead_id"]
    assert _statuses(lead(client, services, lead_id)) == ("new", "open")
    archived = command(
        client, lead_id, "/status", {"status": "archived", "source": "human", "actor": "ana"}
    )
    assert _statuses(archived["lead"]) == ("archived", "open")  # the chat is still open
    kapso_sample(client, "kapso-conversation-ended.json", "whatsapp.conversation.ended")
    assert _statuses(lead(client, services, lead_id)) == ("archived", "closed")


def test_conversation_end_leaves_the_lead_status(client: TestClient, services: Services) -> None:
    lead_id = sarah_sample(client, PHASES[1])["lead_id"]
    kapso_sample(client, "kapso-message-received.json", "whatsapp.message.received")
    assert _statuses(lead(client, services, lead_id)) == ("qualified", "open")
    kapso_sample(client, "kapso-conversation-ended.json", "whatsapp.conversation.ended")
    assert _statuses(lead(client, services, lead_id)) == ("qualified", "closed")


def _statuses(view: dict[str, Any]) -> tuple[str, str]:
    return view["lead_status"], view["conversation_status"]
