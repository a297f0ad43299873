"""Helpers for tests: signed deliveries, sample loading, ledger counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from adapters.webhooks.signatures import sign
from service_layer.bootstrap import Services

# Two workspaces, each with its own key, secrets and WhatsApp number: a check that a
# delivery's signature belongs to its number's workspace can only pass when it holds.
WORKSPACE = "acme"
API_KEY = "test-key-acme"
KAPSO_SECRET = "kapso-test-secret"
META_SECRET = "meta-test-secret"
META_VERIFY_TOKEN = "verify-me"
PHONE_NUMBER_ID = "109876543210987"  # the WhatsApp number of every shared sample
OTHER_WORKSPACE = "other"
OTHER_API_KEY = "k-other"
OTHER_KAPSO_SECRET = "kapso-test-secret-of-other"
OTHER_META_SECRET = "meta-test-secret-of-other"
OTHER_META_VERIFY_TOKEN = "verify-me-other"
OTHER_PHONE_NUMBER_ID = "209876543210999"
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_API_KEY}"}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample(name))


def kapso_headers(
    body: bytes,
    event: str | None = None,
    batch: bool = False,
    idempotency_key: str | None = None,
    secret: str = KAPSO_SECRET,
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature": sign(secret, body),
        "X-Webhook-Payload-Version": "v2",
    }
    if event:
        headers["X-Webhook-Event"] = event
    if batch:
        headers["X-Webhook-Batch"] = "true"
    if idempotency_key:
        headers["X-Idempotency-Key"] = idempotency_key
    return headers


def meta_headers(body: bytes, secret: str = META_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + sign(secret, body),
    }


def post_kapso(
    client: TestClient, body: bytes | dict[str, Any], event: str | None = None, **kwargs: Any
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhook/kapso", content=raw, headers=kapso_headers(raw, event, **kwargs))


def post_meta(
    client: TestClient, body: bytes | dict[str, Any], secret: str = META_SECRET
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhook/meta", content=raw, headers=meta_headers(raw, secret))


def ledger_size(services: Services) -> int:
    """How many events the ledger holds (max notification id; 0 when empty)."""
    return int(services.store.recorder.max_notification_id() or 0)


def workspaces_toml() -> str:
    """The workspaces file of the test settings (docs/configuration.md's format)."""
    return "".join(
        f"[workspaces.{name}]\n"
        f'api_keys = ["{key}"]\n'
        f'kapso_webhook_secrets = ["{kapso}"]\n'
        f'meta_app_secrets = ["{meta}"]\n'
        f'meta_verify_tokens = ["{token}"]\n'
        f'phone_number_ids = ["{number}"]\n'
        for name, key, kapso, meta, token, number in (
            (WORKSPACE, API_KEY, KAPSO_SECRET, META_SECRET, META_VERIFY_TOKEN, PHONE_NUMBER_ID),
            (
                OTHER_WORKSPACE,
                OTHER_API_KEY,
                OTHER_KAPSO_SECRET,
                OTHER_META_SECRET,
                OTHER_META_VERIFY_TOKEN,
                OTHER_PHONE_NUMBER_ID,
            ),
        )
    )


# -- appended: Kapso deliveries built in code, recorded straight through the Ledger ---------

from collections import Counter  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from adapters.webhooks.kapso import translate_kapso  # noqa: E402
from domain.identity import lead_id_for  # noqa: E402
from service_layer.ledger import Recording  # noqa: E402

KAPSO_RECEIVED = "whatsapp.message.received"
FactKey = tuple[str, str, str | None, str | None]  # (E.164 phone, event type, id, detail)


def phone_spellings(e164: str) -> list[str]:
    """Ways people and APIs write an Indonesian E.164 number (+62...)."""
    rest = e164[3:]
    return [
        e164,
        e164[1:],
        "0" + rest,
        f"+62 {rest[:3]}-{rest[3:7]}-{rest[7:]}",
        f"0{rest[:3]} {rest[3:7]} {rest[7:]}",
    ]


def conversation_id_for(e164: str) -> str:
    return f"conv-{e164[1:]}"


def kapso_inbound(
    message_id: str, phone: str, e164: str, name: str | None = None, new_conversation: bool = False
) -> dict[str, Any]:
    """One whatsapp.message.received element, Kapso payload v2 shape."""
    conversation: dict[str, Any] = {
        "id": conversation_id_for(e164),
        "phone_number": phone,
        "status": "active",
        "phone_number_id": PHONE_NUMBER_ID,
    }
    if name is not None:
        conversation["kapso"] = {"contact_name": name}
    return {
        "message": {
            "id": message_id,
            "timestamp": "1764000000",
            "type": "text",
            "from": phone,
            "text": {"body": f"text of {message_id}"},
            "kapso": {"direction": "inbound", "status": "received"},
        },
        "conversation": conversation,
        "is_new_conversation": new_conversation,
        "phone_number_id": PHONE_NUMBER_ID,
    }


def kapso_outbound(
    message_id: str,
    phone: str,
    e164: str,
    status: str,
    history: Sequence[str] = (),
    name: str | None = None,
) -> dict[str, Any]:
    """One whatsapp.message.<status> element; `history` lists earlier statuses it repeats."""
    conversation: dict[str, Any] = {
        "id": conversation_id_for(e164),
        "phone_number": phone,
        "status": "active",
        "phone_number_id": PHONE_NUMBER_ID,
    }
    if name is not None:
        conversation["kapso"] = {"contactName": name}
    statuses = [
        {"id": message_id, "status": s, "timestamp": "1764000100", "recipient_id": e164[1:]}
        for s in history
    ]
    return {
        "message": {
            "id": message_id,
            "timestamp": "1764000100",
            "type": "text",
            "text": {"body": f"text of {message_id}"},
            "kapso": {
                "direction": "outbound",
                "status": status,
                "origin": "cloud_api",
                "statuses": statuses,
            },
        },
        "conversation": conversation,
        "phone_number_id": PHONE_NUMBER_ID,
    }


@dataclass(frozen=True)
class KapsoDelivery:
    """One delivery: its event type, elements, how it is batched, and its idempotency key.

    style: "single" (one element, event in the header), "header" (X-Webhook-Batch header,
    body {"data": [...]}), "flag" (body {"type", "batch": true, "data"}), "data" (body
    {"type", "data"} only).
    """

    event: str
    elements: tuple[dict[str, Any], ...]
    style: str = "single"
    idempotency_key: str | None = None


def record_kapso(
    services: Services, delivery: KapsoDelivery, workspace: str = WORKSPACE
) -> Recording:
    """Translate a delivery as the webhook does, then record its commands through the Ledger."""
    elements = list(delivery.elements)
    header_event: str | None = delivery.event
    batch_header = False
    body: dict[str, Any]
    if delivery.style == "single":
        [body] = elements
    elif delivery.style == "header":
        body, batch_header = {"data": elements}, True
    elif delivery.style == "flag":
        body, header_event = {"type": delivery.event, "batch": True, "data": elements}, None
    else:
        body, header_event = {"type": delivery.event, "data": elements}, None
    items = translate_kapso(
        body, header_event, batch_header, delivery.idempotency_key, datetime.now(UTC), "ID"
    )
    assert len(items) == len(elements)
    assert all(item.unhandled_reason is None for item in items)
    return services.ledger.record(workspace, [c for item in items for c in item.commands])


def fact_key(e164: str, event: Any) -> FactKey:
    """What makes a stored lead event one fact."""
    name = type(event).__name__
    if name in ("InboundMessageReceived", "OutboundMessageSent"):
        return (e164, name, event.message_id, None)
    if name == "MessageStatusChanged":
        return (e164, name, event.message_id, event.status)
    if name == "ConversationChanged":
        return (e164, name, event.conversation_id, event.change)
    if name == "ContactNameReported":
        return (e164, name, event.name, None)
    if name == "Registered":
        return (e164, name, event.phone, event.workspace)
    return (e164, name, None, None)


def fact_counts(
    services: Services, phones: Sequence[str], workspace: str = WORKSPACE
) -> Counter[FactKey]:
    """How many times each fact is stored on the leads of these E.164 phones."""
    counts: Counter[FactKey] = Counter()
    for e164 in phones:
        counts.update(
            fact_key(e164, e) for e in services.store.events.get(lead_id_for(workspace, e164))
        )
    return counts


def ledger_count(services: Services, limit: int = 100_000) -> int:
    """How many events the ledger holds, counted (PostgreSQL's ids have gaps after conflicts,
    so ledger_size is an upper bound there once writers have collided)."""
    return len(services.store.recorder.select_notifications(start=None, limit=limit))
