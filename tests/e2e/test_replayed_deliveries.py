"""A replayed older delivery never rewrites newer truth (issue 14, item 4).

Kapso and Meta retry deliveries, and a retry can come after newer deliveries: the resend
of a delivery naming the contact "Old Name", after one naming them "New Name", must append
nothing and leave "New Name" shown. The contact name follows the source's time, so a first
delivery that is merely late loses to a newer one too. Over HTTP, on every backend.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from adapters.webhooks.payloads import kapso_message
from service_layer.bootstrap import Services
from tests.support import (
    AUTH,
    KAPSO_RECEIVED,
    PHONE_NUMBER_ID,
    kapso_headers,
    ledger_count,
    meta_headers,
    sample_json,
)

PHONE = "+6281298765001"


def kapso_delivery(message_id: str, timestamp: int, name: str) -> bytes:
    element = kapso_message(
        message_id,
        PHONE,
        phone_number_id=PHONE_NUMBER_ID,
        conversation_id="conv-replay",
        text=f"text of {message_id}",
        sender=PHONE,
        timestamp=str(timestamp),
        conversation_kapso={"contact_name": name},
    )
    return json.dumps(element).encode()


def meta_delivery(message_id: str, timestamp: int, name: str) -> bytes:
    body: dict[str, Any] = sample_json("meta-text-message.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = name
    value["messages"][0]["id"] = message_id
    value["messages"][0]["timestamp"] = str(timestamp)
    return json.dumps(body).encode()


def post_kapso_raw(client: TestClient, raw: bytes) -> None:
    resp = client.post("/webhook/kapso", content=raw, headers=kapso_headers(raw, KAPSO_RECEIVED))
    assert resp.status_code == 200, resp.text


def post_meta_raw(client: TestClient, raw: bytes) -> None:
    resp = client.post("/webhook/meta", content=raw, headers=meta_headers(raw))
    assert resp.status_code == 200, resp.text


def shown_name(client: TestClient, services: Services, phone: str) -> str | None:
    services.views.catch_up()
    resp = client.get(f"/leads/by-phone/{phone}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    name: str | None = resp.json()["name"]
    return name


def test_a_resent_older_kapso_delivery_appends_nothing_and_keeps_the_newer_name(
    client: TestClient, services: Services
) -> None:
    old = kapso_delivery("wamid.replay.1", 1764000000, "Old Name")
    post_kapso_raw(client, old)
    post_kapso_raw(client, kapso_delivery("wamid.replay.2", 1764000060, "New Name"))
    before = ledger_count(services)

    post_kapso_raw(client, old)  # the first delivery again, byte for byte

    assert ledger_count(services) == before
    assert shown_name(client, services, PHONE) == "New Name"


def test_a_resent_older_meta_delivery_appends_nothing_and_keeps_the_newer_name(
    client: TestClient, services: Services
) -> None:
    old = meta_delivery("wamid.meta.replay.1", 1764000300, "Old Name")
    post_meta_raw(client, old)
    post_meta_raw(client, meta_delivery("wamid.meta.replay.2", 1764000360, "New Name"))
    before = ledger_count(services)

    post_meta_raw(client, old)

    assert ledger_count(services) == before
    assert shown_name(client, services, "+6281398765432") == "New Name"


def test_the_contact_name_follows_the_source_time_not_the_arrival(
    client: TestClient, services: Services
) -> None:
    """The newer delivery first, the older one (never seen before) late: the newer wins."""
    post_kapso_raw(client, kapso_delivery("wamid.late.2", 1764000060, "New Name"))
    post_kapso_raw(client, kapso_delivery("wamid.late.1", 1764000000, "Old Name"))

    assert shown_name(client, services, PHONE) == "New Name"


def test_a_new_spelling_said_later_still_replaces_the_name(
    client: TestClient, services: Services
) -> None:
    post_kapso_raw(client, kapso_delivery("wamid.respell.1", 1764000000, "Budi"))
    post_kapso_raw(client, kapso_delivery("wamid.respell.2", 1764000060, "Budi Santoso"))
    post_kapso_raw(client, kapso_delivery("wamid.respell.3", 1764000120, "Budi"))

    assert shown_name(client, services, PHONE) == "Budi"
