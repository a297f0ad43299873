"""Kapso payload v2 → lead commands. Single events and batches; unknown events kept raw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.webhooks.kapso_models import KapsoBatch, KapsoConversation, KapsoEvent, KapsoMessage
from adapters.webhooks.translation import (
    TranslatedItem,
    TranslationError,
    phone_or_error,
    unix_time,
)
from domain.commands import (
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
)
from domain.envelope import Said
from domain.values import Source

MESSAGE_EVENTS = {
    "whatsapp.message.received",
    "whatsapp.message.sent",
    "whatsapp.message.delivered",
    "whatsapp.message.read",
    "whatsapp.message.failed",
}
CONVERSATION_EVENTS = {
    "whatsapp.conversation.created": "opened",
    "whatsapp.conversation.ended": "ended",
    "whatsapp.conversation.inactive": "inactive",
}


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
    """Translate one delivery; raises TranslationError naming the field that is wrong."""
    if not isinstance(body, dict):
        raise TranslationError("body", "a JSON object is expected")
    if not is_batch(body, batch_header):
        return [_translate_one(body, event_header, idempotency_key, received_at, default_region)]
    try:
        batch = KapsoBatch.model_validate(body)
    except ValidationError as exc:
        raise TranslationError.from_validation(exc) from None
    event_type = batch.type or event_header
    items = []
    for index, element in enumerate(batch.data):
        try:
            items.append(
                _translate_one(element, event_type, idempotency_key, received_at, default_region)
            )
        except TranslationError as exc:
            raise TranslationError(f"data.{index}.{exc.field}", exc.message) from None
    return items


def _translate_one(
    body: Any,
    event_type: str | None,
    idempotency_key: str | None,
    received_at: datetime,
    region: str,
) -> TranslatedItem:
    if not isinstance(body, dict):
        raise TranslationError("body", "a JSON object is expected")
    if event_type not in MESSAGE_EVENTS and event_type not in CONVERSATION_EVENTS:
        # An event we do not know may have any shape: keep it raw, never refuse it.
        return TranslatedItem(
            phone_number_id=_raw_phone_number_id(body),
            event_type=event_type,
            raw=body,
            unhandled_reason=f"unknown event type {event_type!r}",
        )
    try:
        event = KapsoEvent.model_validate(body)
    except ValidationError as exc:
        raise TranslationError.from_validation(exc) from None
    pnid = event.phone_number_id or (
        event.conversation.phone_number_id if event.conversation else None
    )
    item = TranslatedItem(phone_number_id=pnid, event_type=event_type, raw=body)
    if event_type in MESSAGE_EVENTS:
        item.commands = _message_commands(event, event_type, idempotency_key, received_at, region)
    else:
        change = CONVERSATION_EVENTS[event_type]
        item.commands = _conversation_commands(event, change, idempotency_key, received_at, region)
    return item


def _raw_phone_number_id(body: dict[str, Any]) -> str | None:
    conversation = body.get("conversation")
    value = body.get("phone_number_id") or (
        conversation.get("phone_number_id") if isinstance(conversation, dict) else None
    )
    return value if isinstance(value, str) else None


def _message_commands(
    event: KapsoEvent, event_type: str, idem: str | None, received_at: datetime, region: str
) -> list[LeadCommand]:
    message = event.message
    if message is None:
        raise TranslationError("message", "required for message events")
    conversation = event.conversation
    meta = message.kapso
    said = Said(Source.KAPSO, "kapso", received_at, unix_time(message.timestamp), idem)
    text = (
        message.text.body
        if message.text and message.text.body
        else (meta.content if meta else None)
    )
    conv_id = conversation.id if conversation else None
    commands: list[LeadCommand] = []
    if event_type == "whatsapp.message.received":
        phone_text = message.from_ or (conversation.phone_number if conversation else None)
        field = "message.from" if message.from_ else "conversation.phone_number"
        phone = phone_or_error(phone_text, field, region)
        commands += _name(phone, said, conversation)
        commands.append(
            RecordInboundMessage(
                phone,
                said,
                message_id=message.id,
                message_type=message.type,
                text=text,
                media=_media(message),
                conversation_id=conv_id,
            )
        )
        if event.is_new_conversation and conv_id:
            commands.append(
                RecordConversation(phone, said, conversation_id=conv_id, change="opened")
            )
        return commands
    phone = phone_or_error(_recipient(message, conversation), "conversation.phone_number", region)
    commands += _name(phone, said, conversation)
    commands.append(
        RecordOutboundMessage(
            phone,
            said,
            message_id=message.id,
            message_type=message.type,
            text=text,
            origin=meta.origin if meta else None,
            conversation_id=conv_id,
        )
    )
    commands += _statuses(phone, said, message, event_type.rsplit(".", 1)[1])
    return commands


def _statuses(phone: str, said: Said, message: KapsoMessage, current: str) -> list[LeadCommand]:
    """The event's own status plus every status in kapso.statuses (older ones may be new to us)."""
    seen: dict[str, LeadCommand] = {}
    meta = message.kapso
    for status in meta.statuses if meta else []:
        error = status.errors[0] if status.errors else None
        at = Said(
            said.source,
            said.actor,
            said.received_at,
            unix_time(status.timestamp),
            said.idempotency_key,
        )
        seen[status.status] = RecordMessageStatus(
            phone,
            at,
            message_id=message.id,
            status=status.status,
            error_code=error.code if error else None,
            error_title=error.title if error else None,
        )
    if current not in seen:
        errors = message.errors or (meta.errors if meta else [])
        error = errors[0] if errors else None
        seen[current] = RecordMessageStatus(
            phone,
            said,
            message_id=message.id,
            status=current,
            error_code=error.code if error else None,
            error_title=error.title if error else None,
        )
    return list(seen.values())


def _conversation_commands(
    event: KapsoEvent, change: str, idem: str | None, received_at: datetime, region: str
) -> list[LeadCommand]:
    conversation = event.conversation
    if conversation is None or not conversation.id:
        raise TranslationError("conversation.id", "required for conversation events")
    phone = phone_or_error(conversation.phone_number, "conversation.phone_number", region)
    occurred = _iso(conversation.updated_at or conversation.last_active_at)
    said = Said(Source.KAPSO, "kapso", received_at, occurred, idem)
    detail: dict[str, Any] = {}
    if event.since_message:
        detail["since_message_id"] = event.since_message.get("id")
    if event.inactivity:
        detail["inactivity"] = event.inactivity
    return [
        *_name(phone, said, conversation),
        RecordConversation(
            phone,
            said,
            conversation_id=conversation.id,
            change=change,
            detail=detail or None,
        ),
    ]


def _name(phone: str, said: Said, conversation: KapsoConversation | None) -> list[LeadCommand]:
    name = conversation.kapso.contact_name if conversation and conversation.kapso else None
    return [ReportContactName(phone, said, name=name.strip())] if name and name.strip() else []


def _recipient(message: KapsoMessage, conversation: KapsoConversation | None) -> str | None:
    if conversation and conversation.phone_number:
        return conversation.phone_number
    if message.to:
        return message.to
    statuses = message.kapso.statuses if message.kapso else []
    return next((s.recipient_id for s in statuses if s.recipient_id), None)


def _media(message: KapsoMessage) -> dict[str, Any] | None:
    extra = message.model_extra or {}
    media = extra.get(message.type)
    return {message.type: media} if isinstance(media, dict) else None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
