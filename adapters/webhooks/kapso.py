"""Kapso payload v2 → lead commands, one event (or batch element) at a time.

Each event of a batch is a part of its own: translated, or kept raw with its reason
beside the others (an unknown event type, no usable identity, a field that does not
parse). Nothing here refuses a delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.webhooks.kapso_messages import (
    CONVERSATION_EVENTS,
    MESSAGE_EVENTS,
    conversation_commands,
    message_commands,
    message_kind,
)
from adapters.webhooks.kapso_models import KapsoBatch, KapsoEvent
from adapters.webhooks.translation import TranslatedItem, TranslationError, kept_raw


def is_batch(body: Any, batch_header: bool) -> bool:
    return isinstance(body, dict) and (
        batch_header or body.get("batch") is True or isinstance(body.get("data"), list)
    )


def translate_kapso(
    body: Any,
    event_header: str | None,
    batch_header: bool,
    idempotency_key: str | None,
    received_at: datetime,
    default_region: str,
) -> list[TranslatedItem]:
    """One item per event of the delivery, translated or kept raw with its reason."""
    if not is_batch(body, batch_header):
        return [_translate_one(body, event_header, idempotency_key, received_at, default_region)]
    try:
        batch = KapsoBatch.model_validate(body)
    except ValidationError as exc:
        reason = str(TranslationError.from_validation(exc))
        return [kept_raw(body, reason, "body", "batch", _raw_phone_number_id(body), event_header)]
    event_type = batch.type or event_header
    items = []
    for index, element in enumerate(batch.data):
        item = _translate_one(element, event_type, idempotency_key, received_at, default_region)
        item.part = f"data.{index}"
        if item.unhandled_reason:
            item.unhandled_reason = f"data.{index}.{item.unhandled_reason}"
        items.append(item)
    return items


def _translate_one(
    body: Any,
    event_type: str | None,
    idempotency_key: str | None,
    received_at: datetime,
    region: str,
) -> TranslatedItem:
    if not isinstance(body, dict):
        return kept_raw(body, "body: a JSON object is expected", "body", None, None, event_type)
    pnid = _raw_phone_number_id(body)
    if event_type not in MESSAGE_EVENTS and event_type not in CONVERSATION_EVENTS:
        # An event we do not know may have any shape: keep it raw, never refuse it.
        reason = f"unknown event type {event_type!r}"
        return kept_raw(body, reason, "body", f"event:{event_type}", pnid, event_type)
    try:
        event = KapsoEvent.model_validate(body)
        conversation = event.conversation
        pnid = event.phone_number_id or (conversation.phone_number_id if conversation else pnid)
        if event_type in MESSAGE_EVENTS:
            kind = message_kind(event, event_type, body)
            commands = message_commands(
                event, body, event_type, idempotency_key, received_at, region
            )
        else:
            kind = f"conversation:{event_type.rsplit('.', 1)[1]}"
            commands = conversation_commands(
                event, event_type, idempotency_key, received_at, region
            )
    except ValidationError as exc:
        return kept_raw(
            body, str(TranslationError.from_validation(exc)), "body", None, pnid, event_type
        )
    except TranslationError as exc:
        return kept_raw(body, str(exc), "body", None, pnid, event_type)
    return TranslatedItem(pnid, commands, None, event_type, body, "body", kind)


def _raw_phone_number_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    conversation = body.get("conversation")
    value = body.get("phone_number_id") or (
        conversation.get("phone_number_id") if isinstance(conversation, dict) else None
    )
    return value if isinstance(value, str) else None
