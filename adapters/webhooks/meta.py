"""WhatsApp Cloud API (Meta) webhook → lead commands. One item per change; others kept raw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.webhooks.meta_models import MetaBody, MetaMedia, MetaMessage, MetaStatus, MetaValue
from adapters.webhooks.translation import (
    TranslatedItem,
    TranslationError,
    phone_or_error,
    unix_time,
)
from domain.commands import (
    LeadCommand,
    RecordInboundMessage,
    RecordMessageStatus,
    ReportContactName,
)
from domain.envelope import Said
from domain.values import Source

WABA_OBJECT = "whatsapp_business_account"


def translate_meta(body: Any, received_at: datetime, default_region: str) -> list[TranslatedItem]:
    """Translate one delivery; raises TranslationError naming the field that is wrong."""
    if not isinstance(body, dict):
        raise TranslationError("body", "a JSON object is expected")
    try:
        envelope = MetaBody.model_validate(body)
    except ValidationError as exc:
        raise TranslationError.from_validation(exc) from None
    if envelope.object != WABA_OBJECT:
        raise TranslationError("object", f"expected {WABA_OBJECT!r}, got {envelope.object!r}")
    items = []
    for e, entry in enumerate(envelope.entry):
        for c, change in enumerate(entry.changes):
            item = TranslatedItem(
                phone_number_id=_phone_number_id(change.value),
                event_type=f"meta.{change.field}",
                raw=body["entry"][e]["changes"][c],
            )
            if change.field == "messages":
                path = f"entry.{e}.changes.{c}.value"
                item.commands, skipped = _messages(change.value, path, received_at, default_region)
                item.unhandled_reason = "; ".join(skipped) or None
            else:
                item.unhandled_reason = f"unhandled field {change.field!r}"
            items.append(item)
    return items


def _messages(
    value: dict[str, Any], path: str, received_at: datetime, region: str
) -> tuple[list[LeadCommand], list[str]]:
    """The commands of a "messages" change, and why parts of it were not translated."""
    try:
        parsed = MetaValue.model_validate(value)
    except ValidationError as exc:
        raise TranslationError.from_validation(exc, path) from None
    commands: list[LeadCommand] = []
    skipped: list[str] = []
    # The contact name has no time of its own: take that of the contact's message.
    stamps = {m.from_: m.timestamp for m in parsed.messages if m.from_}
    for i, contact in enumerate(parsed.contacts):
        name = (contact.profile.name or "").strip() if contact.profile else ""
        if name and contact.wa_id:
            phone = phone_or_error(contact.wa_id, f"{path}.contacts.{i}.wa_id", region)
            said = _said(received_at, stamps.get(contact.wa_id))
            commands.append(ReportContactName(phone, said, name=name))
    for i, message in enumerate(parsed.messages):
        if not (message.from_ or "").strip():
            # Username-only users (2026) come with a business-scoped user_id and no phone.
            skipped.append(f"messages.{i}: no sender phone (user_id {message.from_user_id!r})")
            continue
        phone = phone_or_error(message.from_, f"{path}.messages.{i}.from", region)
        commands.append(
            RecordInboundMessage(
                phone,
                _said(received_at, message.timestamp),
                message_id=message.id,
                message_type=message.type,
                text=_text(message),
                media=_media(message),
            )
        )
    for i, status in enumerate(parsed.statuses):
        reason = _status_skip(status)
        if reason:
            skipped.append(f"statuses.{i}: {reason}")
            continue
        phone = phone_or_error(status.recipient_id, f"{path}.statuses.{i}.recipient_id", region)
        error = status.errors[0] if status.errors else None
        commands.append(
            RecordMessageStatus(
                phone,
                _said(received_at, status.timestamp),
                message_id=status.id,
                status=status.status,
                error_code=error.code if error else None,
                error_title=error.title if error else None,
            )
        )
    if not (parsed.contacts or parsed.messages or parsed.statuses):
        skipped.append("no contacts, messages or statuses")
    return commands, skipped


def _status_skip(status: MetaStatus) -> str | None:
    if status.recipient_type == "group":
        return "group recipient"  # recipient_id is a group id, not a lead's phone
    if not (status.recipient_id or "").strip():
        return f"no recipient phone (user_id {status.recipient_user_id!r})"
    return None


def _said(received_at: datetime, timestamp: str | int | None) -> Said:
    # Meta sends no idempotency key; the message id / status dedupe instead.
    return Said(Source.META, "meta", received_at, unix_time(timestamp), None)


def _media_object(message: MetaMessage) -> MetaMedia | None:
    return {
        "image": message.image,
        "audio": message.audio,
        "video": message.video,
        "document": message.document,
        "sticker": message.sticker,
    }.get(message.type)


def _media(message: MetaMessage) -> dict[str, Any] | None:
    media = _media_object(message)
    return {message.type: media.model_dump(exclude_none=True)} if media else None


def _text(message: MetaMessage) -> str | None:
    """The words of the message: text, media caption, or the title of the reply chosen."""
    if message.text and message.text.body:
        return message.text.body
    media = _media_object(message)
    if media and media.caption:
        return media.caption
    if message.interactive:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply and reply.title:
            return reply.title
    return message.button.text if message.button and message.button.text else None


def _phone_number_id(value: dict[str, Any]) -> str | None:
    # Read loosely: only "messages" values are validated, other fields have other shapes.
    metadata = value.get("metadata")
    pnid = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return str(pnid) if isinstance(pnid, str | int) and pnid != "" else None
