"""Every shared sample, posted signed through the HTTP API, yields the expected events.

Runs on every backend (memory, SQLite, PostgreSQL) through the `client` fixture. Posting a
sample again, or the batch's messages again one by one, adds nothing to the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.testclient import TestClient

from domain.extracted import ExtractedData
from service_layer.bootstrap import Services
from tests.support import (
    AUTH,
    KAPSO_RECEIVED,
    OTHER_AUTH,
    PHONE_NUMBER_ID,
    WORKSPACE,
    kapso_headers,
    ledger_size,
    meta_headers,
    post_kapso,
    received_sample_headers,
    sample,
    sample_json,
)

BUDI = "+6281234567890"
SARI = "+6285712345678"
ANDI = "+6281398765432"
INBOUND_ID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBCMEE1QjY0RjE2QjZBMjM0AA=="
OUTBOUND_ID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEk9VVEJPVU5EMDAwMDAwMDAwMQA="
BATCH_IDS = (
    "wamid.HBgNNjI4NTcxMjM0NTY3OBUCABIYFkJBVENIMDAwMDAwMDAwMDAwMDEA",
    "wamid.HBgNNjI4NTcxMjM0NTY3OBUCABIYFkJBVENIMDAwMDAwMDAwMDAwMDIA",
)
META_INBOUND_ID = "wamid.HBgNNjI4MTM5ODc2NTQzMhUCABIYFk1FVEEwMDAwMDAwMDAwMDAwMDAwMQA="
META_STATUS_ID = "wamid.HBgNNjI4MTM5ODc2NTQzMhUCABEYEk9VVE1FVEEwMDAwMDAwMDAxAA=="
SARAH_SAMPLES = (
    "sarah-phase1-gathering.json",
    "sarah-phase2-interest.json",
    "sarah-phase3-closing.json",
)


@dataclass(frozen=True)
class Delivery:
    """One signed POST: a path, a body and its headers."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]


def kapso(name: str, event: str, idempotency_key: str, batch: bool = False) -> Delivery:
    body = sample(name)
    return Delivery(
        name,
        "/webhook/kapso",
        body,
        kapso_headers(body, event, batch=batch, idempotency_key=idempotency_key),
    )


def meta(name: str) -> Delivery:
    body = sample(name)
    return Delivery(name, "/webhook/meta", body, meta_headers(body))


def sarah(name: str) -> Delivery:
    # Sarah's reports have no natural key: the caller's Idempotency-Key makes a retry a no-op.
    headers = {**AUTH, "Content-Type": "application/json", "Idempotency-Key": f"sarah:{name}"}
    return Delivery(name, "/sarah/state", sample(name), headers)


def kapso_received() -> Delivery:
    headers = received_sample_headers()
    return kapso(
        "kapso-message-received.json", headers["X-Webhook-Event"], headers["X-Idempotency-Key"]
    )


def every_sample() -> list[Delivery]:
    return [
        kapso_received(),
        kapso("kapso-message-delivered.json", "whatsapp.message.delivered", "idem-delivered"),
        kapso("kapso-conversation-ended.json", "whatsapp.conversation.ended", "idem-ended"),
        kapso(
            "kapso-message-received-batch.json",
            "whatsapp.message.received",
            "idem-batch",
            batch=True,
        ),
        meta("meta-text-message.json"),
        meta("meta-status-read.json"),
        *(sarah(name) for name in SARAH_SAMPLES),
    ]


def post(client: TestClient, delivery: Delivery) -> Any:
    resp = client.post(delivery.path, content=delivery.body, headers=delivery.headers)
    assert resp.status_code == 200, (delivery.name, resp.text)
    return resp.json()


def lead_id_of(client: TestClient, phone: str) -> str:
    resp = client.get(f"/leads/by-phone/{quote(phone, safe='')}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    found = resp.json()
    assert (found["workspace"], found["phone"]) == (WORKSPACE, phone)
    return str(found["lead_id"])


def events_of(client: TestClient, phone: str) -> list[dict[str, Any]]:
    lead_id = lead_id_of(client, phone)
    resp = client.get(f"/leads/{lead_id}/events", headers=AUTH)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["lead_id"] == lead_id
    events: list[dict[str, Any]] = body["events"]
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def data_of(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == event_type]


def test_kapso_message_received(client: TestClient, services: Services) -> None:
    answer = post(client, kapso_received())
    events = events_of(client, BUDI)
    assert types(events) == [
        "Registered",
        "ContactNameReported",
        "InboundMessageReceived",
        "ConversationChanged",
    ]
    registered, name, message, opened = events
    assert registered["data"] == {"workspace": WORKSPACE, "phone": BUDI}
    assert name["data"] == {"name": "Budi Santoso"}
    assert message["data"]["message_id"] == INBOUND_ID
    assert message["data"]["message_type"] == "text"
    assert message["data"]["text"] == "Halo kak, saya mau tanya soal chatbot untuk toko online saya"
    assert message["data"]["conversation_id"] == "conv_01JDX8Y2N5K3"
    assert (opened["data"]["conversation_id"], opened["data"]["change"]) == (
        "conv_01JDX8Y2N5K3",
        "opened",
    )
    for event in events:
        assert (event["source"], event["actor"]) == ("kapso", "kapso")
        assert event["idempotency_key"] == received_sample_headers()["X-Idempotency-Key"]
    # The source's time is the message's unix timestamp (1764000000).
    assert message["occurred_at"] == "2025-11-24T16:00:00Z"
    assert answer["status"] == "accepted"
    assert answer["kept_unhandled"] == 0
    assert [f["fact"] for f in answer["facts"]] == [
        "contact_name",
        f"message:{INBOUND_ID}",
        "conversation:conv_01JDX8Y2N5K3:opened",
    ]
    assert ledger_size(services) == 4


def test_kapso_message_delivered(client: TestClient) -> None:
    post(client, kapso("kapso-message-delivered.json", "whatsapp.message.delivered", "d1"))
    events = events_of(client, BUDI)
    assert types(events) == [
        "Registered",
        "ContactNameReported",
        "OutboundMessageSent",
        "MessageStatusChanged",
        "MessageStatusChanged",
    ]
    [sent] = data_of(events, "OutboundMessageSent")
    assert sent["message_id"] == OUTBOUND_ID
    assert sent["text"] == (
        "Halo Budi! Saya Sarah dari tim kami. Boleh tahu bisnisnya di bidang apa?"
    )
    assert sent["origin"] == "cloud_api"
    statuses = data_of(events, "MessageStatusChanged")
    assert [(s["message_id"], s["status"]) for s in statuses] == [
        (OUTBOUND_ID, "sent"),
        (OUTBOUND_ID, "delivered"),
    ]
    # Each status keeps its own time from kapso.statuses.
    times = [e["occurred_at"] for e in events if e["type"] == "MessageStatusChanged"]
    assert times == ["2025-11-24T16:03:19Z", "2025-11-24T16:03:20Z"]


def test_kapso_conversation_ended(client: TestClient) -> None:
    post(client, kapso("kapso-conversation-ended.json", "whatsapp.conversation.ended", "e1"))
    events = events_of(client, BUDI)
    assert types(events) == ["Registered", "ContactNameReported", "ConversationChanged"]
    [ended] = data_of(events, "ConversationChanged")
    assert (ended["conversation_id"], ended["change"]) == ("conv_01JDX8Y2N5K3", "ended")
    assert events[-1]["occurred_at"] == "2025-11-25T16:00:00Z"


def test_kapso_batch(client: TestClient) -> None:
    answer = post(
        client,
        kapso("kapso-message-received-batch.json", "whatsapp.message.received", "b1", batch=True),
    )
    events = events_of(client, SARI)
    assert types(events) == [
        "Registered",
        "ContactNameReported",
        "InboundMessageReceived",
        "ConversationChanged",
        "InboundMessageReceived",
    ]
    assert data_of(events, "ContactNameReported") == [{"name": "Sari Dewi"}]  # camelCase key
    first, second = data_of(events, "InboundMessageReceived")
    assert (first["message_id"], first["text"]) == (BATCH_IDS[0], "Selamat sore")
    assert (second["message_id"], second["message_type"], second["text"]) == (
        BATCH_IDS[1],
        "image",
        "ini katalog saya",
    )
    assert second["media"] == {
        "image": {"id": "1234567890", "mime_type": "image/jpeg", "caption": "ini katalog saya"}
    }
    assert {f["lead_id"] for f in answer["facts"]} == {lead_id_of(client, SARI)}


def test_batch_detected_without_header(client: TestClient) -> None:
    # The body says batch:true and carries its own type: no batch or event header needed.
    body = sample("kapso-message-received-batch.json")
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body))
    assert resp.status_code == 200, resp.text
    assert (
        data_of(events_of(client, SARI), "InboundMessageReceived")[1]["message_id"]
        == (BATCH_IDS[1])
    )


def test_meta_text_and_read_status(client: TestClient) -> None:
    post(client, meta("meta-text-message.json"))
    post(client, meta("meta-status-read.json"))
    events = events_of(client, ANDI)
    assert types(events) == [
        "Registered",
        "ContactNameReported",
        "InboundMessageReceived",
        "MessageStatusChanged",
    ]
    assert data_of(events, "ContactNameReported") == [{"name": "Andi Wijaya"}]
    [message] = data_of(events, "InboundMessageReceived")
    assert (message["message_id"], message["text"]) == (
        META_INBOUND_ID,
        "Berapa harga paket bulanan?",
    )
    [read] = data_of(events, "MessageStatusChanged")
    assert (read["message_id"], read["status"]) == (META_STATUS_ID, "read")
    assert {e["source"] for e in events} == {"meta"}


def test_sarah_phases_make_one_lead(client: TestClient) -> None:
    answers = [post(client, sarah(name)) for name in SARAH_SAMPLES]
    # Three spellings of one number: one lead.
    assert len({a["lead_id"] for a in answers}) == 1
    assert answers[0]["lead_id"] == lead_id_of(client, BUDI)
    events = events_of(client, BUDI)
    assert types(events) == ["Registered", *["SarahPhaseReported"] * 3]
    reported = data_of(events, "SarahPhaseReported")
    for data, name in zip(reported, SARAH_SAMPLES, strict=True):
        given = sample_json(name)
        assert data["chat_phase"] == given["state"]
        # Stored typed (SarahPhaseReported v2): Sarah's nulls read as "said nothing".
        typed = ExtractedData.from_sarah(given["extracted_data"]).to_event()
        assert data["extracted_data"] == typed
        assert data["lead_score"] == given["lead_score"]
        assert data["lead_temperature"] == given["lead_temperature"]
    assert reported[1]["extracted_data"]["sarah_name"] is None
    said = sample_json(SARAH_SAMPLES[1])["extracted_data"]
    assert reported[1]["extracted_data"]["pain_points"] == said["pain_points"]
    assert {e["source"] for e in events[1:]} == {"sarah"}


def test_every_sample_together(client: TestClient, services: Services) -> None:
    for delivery in every_sample():
        post(client, delivery)
    budi = events_of(client, BUDI)
    assert types(budi) == [
        "Registered",
        "ContactNameReported",
        "InboundMessageReceived",
        "ConversationChanged",
        "OutboundMessageSent",
        "MessageStatusChanged",
        "MessageStatusChanged",
        "ConversationChanged",
        "SarahPhaseReported",
        "SarahPhaseReported",
        "SarahPhaseReported",
    ]
    # The name is repeated by every Kapso delivery, but reported once.
    assert data_of(budi, "ContactNameReported") == [{"name": "Budi Santoso"}]
    assert len(events_of(client, SARI)) == 5
    assert len(events_of(client, ANDI)) == 4
    assert ledger_size(services) == len(budi) + 5 + 4


def test_posting_every_sample_again_adds_nothing(client: TestClient, services: Services) -> None:
    deliveries = every_sample()
    first = [post(client, d) for d in deliveries]
    size = ledger_size(services)
    assert size == 20
    again = [post(client, d) for d in deliveries]
    assert ledger_size(services) == size
    assert again == first  # a retried delivery gets the same answer
    # And once more in reverse order.
    assert [post(client, d) for d in reversed(deliveries)] == list(reversed(first))
    assert ledger_size(services) == size


def batch_elements_one_by_one(client: TestClient) -> Iterator[Any]:
    """Each element of the batch sample posted alone, under an idempotency key of its own."""
    for index, element in enumerate(sample_json("kapso-message-received-batch.json")["data"]):
        yield post_kapso(client, element, KAPSO_RECEIVED, idempotency_key=f"single-{index}")


def test_batch_elements_one_by_one_add_nothing(client: TestClient, services: Services) -> None:
    post(
        client,
        kapso(
            "kapso-message-received-batch.json", "whatsapp.message.received", "batch-1", batch=True
        ),
    )
    size = ledger_size(services)
    for index, resp in enumerate(batch_elements_one_by_one(client)):
        assert resp.status_code == 200, resp.text
        assert f"message:{BATCH_IDS[index]}" in [f["fact"] for f in resp.json()["facts"]]
        assert ledger_size(services) == size
    assert len(data_of(events_of(client, SARI), "InboundMessageReceived")) == 2


def test_single_messages_then_batch_adds_nothing(client: TestClient, services: Services) -> None:
    for resp in batch_elements_one_by_one(client):
        assert resp.status_code == 200, resp.text
    size = ledger_size(services)
    assert size == 5
    post(
        client,
        kapso(
            "kapso-message-received-batch.json",
            "whatsapp.message.received",
            "batch-late",
            batch=True,
        ),
    )
    assert ledger_size(services) == size


def test_lead_found_by_any_spelling(client: TestClient) -> None:
    answer = post(client, kapso_received())
    for spelling in ("0812-3456-7890", "+62 812 3456 7890", "6281234567890", "081234567890"):
        resp = client.get(f"/leads/by-phone/{quote(spelling, safe='')}", headers=AUTH)
        assert resp.status_code == 200, (spelling, resp.text)
        found = resp.json()
        assert (found["lead_id"], found["workspace"], found["phone"]) == (
            answer["facts"][0]["lead_id"],
            WORKSPACE,
            BUDI,
        ), spelling


def test_unknown_kapso_event_is_kept_raw_once(client: TestClient, services: Services) -> None:
    body = json.dumps(
        {"phone_number_id": PHONE_NUMBER_ID, "widget": {"id": "w-42", "spun": True}}
    ).encode()
    headers = kapso_headers(body, "whatsapp.widget.spun", idempotency_key="unknown-1")
    first = client.post("/webhook/kapso", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "status": "accepted",
        "facts": [],
        "kept_unhandled": 1,
        "parts": [
            {
                "part": "body",
                "kind": "event:whatsapp.widget.spun",
                "outcome": "kept_unhandled",
                "facts": [],
                "reason": "unknown event type 'whatsapp.widget.spun'",
            }
        ],
    }
    assert ledger_size(services) == 1
    again = client.post("/webhook/kapso", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert ledger_size(services) == 1
    listed = client.get("/deliveries/unhandled", headers=AUTH)
    assert listed.status_code == 200
    [kept] = listed.json()["deliveries"]
    assert kept["channel"] == "kapso"
    assert kept["event_type"] == "whatsapp.widget.spun"
    assert "whatsapp.widget.spun" in kept["reason"]
    assert json.loads(kept["body"]) == json.loads(body)
    # Another workspace never sees it.
    other = client.get("/deliveries/unhandled", headers=OTHER_AUTH)
    assert other.status_code == 200
    assert other.json() == {"deliveries": [], "next_after": None, "limit": 100}


def test_unknown_kapso_event_of_another_shape_is_kept_raw(
    client: TestClient,
    services: Services,
) -> None:
    body = json.dumps(
        {"phone_number_id": PHONE_NUMBER_ID, "message": {"reaction": {"emoji": "+1"}}}
    ).encode()
    resp = client.post(
        "/webhook/kapso",
        content=body,
        headers=kapso_headers(body, "whatsapp.message.reaction_added"),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["kept_unhandled"] == 1
    assert ledger_size(services) == 1
