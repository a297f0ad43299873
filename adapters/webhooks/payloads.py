"""Kapso and Meta webhook payloads and their signed headers, built in code.

One set of builders for `leadledger simulate` (traffic.py), the benchmarks and the tests, so
a change to what Kapso or Meta send is made once. The shapes are those of the samples in
tests/fixtures/samples (Kapso payload v2, WhatsApp Cloud API v21).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.webhooks.meta import WABA_OBJECT
from adapters.webhooks.signatures import sign

KAPSO_RECEIVED = "whatsapp.message.received"
KAPSO_DELIVERED = "whatsapp.message.delivered"
KAPSO_PATH = "/webhook/kapso"
META_PATH = "/webhook/meta"


def kapso_message(
    message_id: str,
    phone: str,
    *,
    phone_number_id: str,
    conversation_id: str,
    text: str,
    sender: str | None = None,
    direction: str = "inbound",
    status: str = "received",
    timestamp: str = "1764000000",
    message_kapso: Mapping[str, Any] | None = None,
    conversation_kapso: Mapping[str, Any] | None = None,
    new_conversation: bool | None = False,
) -> dict[str, Any]:
    """One whatsapp.message.* element: a message in its conversation with `phone`.

    `sender` is the message's `from` (inbound messages have one); `message_kapso` and
    `conversation_kapso` add Kapso's own fields; `new_conversation=None` leaves
    `is_new_conversation` out, as status updates do.
    """
    message: dict[str, Any] = {"id": message_id, "timestamp": timestamp, "type": "text"}
    if sender is not None:
        message["from"] = sender
    message["text"] = {"body": text}
    message["kapso"] = {"direction": direction, "status": status, **(message_kapso or {})}
    conversation: dict[str, Any] = {
        "id": conversation_id,
        "phone_number": phone,
        "status": "active",
        "phone_number_id": phone_number_id,
    }
    if conversation_kapso is not None:
        conversation["kapso"] = dict(conversation_kapso)
    element: dict[str, Any] = {"message": message, "conversation": conversation}
    if new_conversation is not None:
        element["is_new_conversation"] = new_conversation
    element["phone_number_id"] = phone_number_id
    return element


def kapso_batch(
    event: str, elements: Sequence[Mapping[str, Any]], conversation_id: str | None = None
) -> dict[str, Any]:
    """A batch flagged in the body; with `conversation_id`, Kapso's `batch_info` too."""
    body: dict[str, Any] = {"type": event, "batch": True, "data": list(elements)}
    if conversation_id is not None:
        body["batch_info"] = {"size": len(elements), "conversation_id": conversation_id}
    return body


def kapso_large_batch(
    max_bytes: int, phone_number_id: str, leads: int, prefix: str = "big"
) -> tuple[bytes, int]:
    """The largest body of one-line inbound messages (`whatsapp.message.received`, flagged
    as a batch) that fits in `max_bytes`, from `leads` phones in turn: the tens of
    thousands of messages Kapso may send at once. Returns the body and its message count."""
    head, tail = b'{"type":"%s","batch":true,"data":[' % KAPSO_RECEIVED.encode(), b"]}"
    parts: list[bytes] = []
    size = len(head) + len(tail)
    while True:
        index = len(parts)
        phone = f"62812{10_000_000 + index % leads:08d}"
        element = (
            b'{"message":{"id":"%s-%d","from":"%s","timestamp":"1764000000","type":"text",'
            b'"text":{"body":"ok"}},"phone_number_id":"%s"}'
            % (prefix.encode(), index, phone.encode(), phone_number_id.encode())
        )
        grown = size + len(element) + (1 if parts else 0)
        if grown > max_bytes:
            return head + b",".join(parts) + tail, len(parts)
        parts.append(element)
        size = grown


def kapso_headers(
    secret: str,
    body: bytes,
    event: str | None = None,
    *,
    batch: bool = False,
    idempotency_key: str | None = None,
) -> dict[str, str]:
    """The headers Kapso sends with `body`, signed with the workspace's webhook secret."""
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


def meta_headers(secret: str, body: bytes) -> dict[str, str]:
    """The headers Meta sends with `body`, signed with the app secret."""
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + sign(secret, body),
    }


def meta_body(*changes: Mapping[str, Any]) -> dict[str, Any]:
    """One entry per change, as Meta sends several numbers' changes in one body."""
    entries = [{"id": f"waba-{i}", "changes": [change]} for i, change in enumerate(changes)]
    return {"object": WABA_OBJECT, "entry": entries}
