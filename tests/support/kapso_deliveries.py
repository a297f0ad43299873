"""Kapso deliveries built in code and recorded straight through the Ledger, as the webhook
would record them (for the property and concurrency tests, which skip HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.webhooks.kapso import translate_kapso
from adapters.webhooks.payloads import kapso_batch, kapso_message
from service_layer.bootstrap import Services
from service_layer.ledger import Recording
from tests.support.workspaces import PHONE_NUMBER_ID, WORKSPACE


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
    """One whatsapp.message.received element from `phone` (any spelling of `e164`)."""
    return _element(
        message_id,
        phone,
        e164,
        sender=phone,
        conversation_kapso=None if name is None else {"contact_name": name},
        new_conversation=new_conversation,
    )


def kapso_outbound(
    message_id: str,
    phone: str,
    e164: str,
    status: str,
    history: Sequence[str] = (),
    name: str | None = None,
) -> dict[str, Any]:
    """One whatsapp.message.<status> element; `history` lists earlier statuses it repeats."""
    statuses = [
        {"id": message_id, "status": s, "timestamp": "1764000100", "recipient_id": e164[1:]}
        for s in history
    ]
    return _element(
        message_id,
        phone,
        e164,
        direction="outbound",
        status=status,
        timestamp="1764000100",
        message_kapso={"origin": "cloud_api", "statuses": statuses},
        # camelCase, as some Kapso payloads spell it: the translator takes both.
        conversation_kapso=None if name is None else {"contactName": name},
        new_conversation=None,
    )


def _element(message_id: str, phone: str, e164: str, **details: Any) -> dict[str, Any]:
    # The test workspace's number, one conversation per lead, a text naming the message.
    return kapso_message(
        message_id,
        phone,
        phone_number_id=PHONE_NUMBER_ID,
        conversation_id=conversation_id_for(e164),
        text=f"text of {message_id}",
        **details,
    )


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
        body, header_event = kapso_batch(delivery.event, elements), None
    else:
        body, header_event = {"type": delivery.event, "data": elements}, None
    items = translate_kapso(
        body, header_event, batch_header, delivery.idempotency_key, datetime.now(UTC), "ID"
    )
    assert len(items) == len(elements)
    assert all(item.unhandled_reason is None for item in items)
    return services.ledger.record(workspace, [c for item in items for c in item.commands])
