"""One Kapso event → commands: messages (inbound, outbound with their statuses) and
conversation changes, each keyed by the person's phone, else their business-scoped user id,
else their username (docs/webhooks.md, Identity). The message is kept whole: its type's
object and Kapso's own `kapso` fields, verbatim (domain/message_parts.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.webhooks.kapso_models import KapsoConversation, KapsoEvent, KapsoMessage
from adapters.webhooks.translation import TranslationError, identity_of, unix_time
from domain.commands import (
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
)
from domain.envelope import Said
from domain.message_parts import InboundParts, OutboundParts, StatusParts
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
RECEIVED = "whatsapp.message.received"
BUSINESS_APP = "business_app"  # Kapso's origin for a message staff typed in the Business app
STATUS_TYPED = {"id", "status", "timestamp", "recipient_id", "errors"}


def message_kind(event: KapsoEvent, event_type: str, body: dict[str, Any]) -> str:
    message = event.message
    if message is None:
        return f"event:{event_type}"
    if event_type == RECEIVED:
        inner = (body.get("message") or {}).get(message.type)
        subtype = inner.get("type") if isinstance(inner, dict) else None
        if message.type == "interactive" and isinstance(subtype, str):
            return f"message:interactive.{subtype}"
        return f"message:{message.type}"
    if message.kapso and message.kapso.origin == BUSINESS_APP:
        return f"echo:{message.type}"
    return f"status:{event_type.rsplit('.', 1)[1]}"


def message_commands(
    event: KapsoEvent,
    body: dict[str, Any],
    event_type: str,
    idem: str | None,
    received_at: datetime,
    region: str,
) -> list[LeadCommand]:
    message = event.message
    if message is None:
        raise TranslationError("message", "required for message events")
    raw: dict[str, Any] = body["message"]
    conversation = event.conversation
    meta = message.kapso
    said = Said(Source.KAPSO, "kapso", received_at, unix_time(message.timestamp), idem)
    text = message.text.body if message.text and message.text.body else None
    text = text or (meta.content if meta else None)
    conv_id = conversation.id if conversation else None
    content = _content(raw)
    if event_type == RECEIVED:
        who = identity_of(
            message.from_ or _conv(conversation, "phone_number"),
            message.from_user_id or _conv(conversation, "business_scoped_user_id"),
            message.username or _conv(conversation, "username"),
            region,
            "message.from" if message.from_ else "conversation.phone_number",
        )
        commands: list[LeadCommand] = [*_name(who.lead_key, said, conversation)]
        commands.append(
            RecordInboundMessage(
                who.lead_key,
                said,
                message_id=message.id,
                message_type=message.type,
                text=text,
                media=_media(raw, message.type),
                conversation_id=conv_id,
                parts=InboundParts(
                    wa_id=who.raw,
                    content=content,
                    referral=_dict(raw.get("referral")),
                    context=_dict(raw.get("context")),
                    errors=raw.get("errors") or None,
                ),
            )
        )
        if event.is_new_conversation and conv_id:
            commands.append(
                RecordConversation(who.lead_key, said, conversation_id=conv_id, change="opened")
            )
        return commands
    who = identity_of(
        _recipient(message, conversation),
        _conv(conversation, "business_scoped_user_id") or message.to_user_id,
        _conv(conversation, "username"),
        region,
        "conversation.phone_number",
    )
    origin = meta.origin if meta else None
    outbound = RecordOutboundMessage(
        who.lead_key,
        said,
        message_id=message.id,
        message_type=message.type,
        text=text,
        origin=origin,
        conversation_id=conv_id,
        parts=OutboundParts(
            content=content,
            echo=None if origin is None else origin == BUSINESS_APP,
            wa_id=who.raw,
        ),
    )
    statuses = _statuses(who.lead_key, said, message, raw, event_type.rsplit(".", 1)[1])
    return [*_name(who.lead_key, said, conversation), outbound, *statuses]


def _statuses(
    key: str, said: Said, message: KapsoMessage, raw: dict[str, Any], current: str
) -> list[LeadCommand]:
    """The event's own status plus every status in kapso.statuses (older ones may be new to us)."""
    seen: dict[str, LeadCommand] = {}
    kapso: dict[str, Any] = _dict(raw.get("kapso")) or {}
    raw_statuses: list[Any] = kapso.get("statuses") or []
    # The models validated kapso.statuses, so the raw list pairs with them one for one.
    parsed = message.kapso.statuses if message.kapso else []
    for status, status_raw in zip(parsed, raw_statuses, strict=True):
        error = status.errors[0] if status.errors else None
        at = Said(
            said.source,
            said.actor,
            said.received_at,
            unix_time(status.timestamp),
            said.idempotency_key,
        )
        detail = {k: v for k, v in status_raw.items() if k not in STATUS_TYPED}
        seen[status.status] = RecordMessageStatus(
            key,
            at,
            message_id=message.id,
            status=status.status,
            error_code=error.code if error else None,
            error_title=error.title if error else None,
            parts=StatusParts(
                status_raw.get("errors") or None, status.recipient_id, detail or None
            ),
        )
    if current not in seen:
        errors_raw = raw.get("errors") or kapso.get("errors") or None
        errors = message.errors or (message.kapso.errors if message.kapso else [])
        error = errors[0] if errors else None
        seen[current] = RecordMessageStatus(
            key,
            said,
            message_id=message.id,
            status=current,
            error_code=error.code if error else None,
            error_title=error.title if error else None,
            parts=StatusParts(errors=errors_raw),
        )
    return list(seen.values())


def conversation_commands(
    event: KapsoEvent, event_type: str, idem: str | None, received_at: datetime, region: str
) -> list[LeadCommand]:
    conversation = event.conversation
    if conversation is None or not conversation.id:
        raise TranslationError("conversation.id", "required for conversation events")
    who = identity_of(
        conversation.phone_number,
        conversation.business_scoped_user_id,
        conversation.username,
        region,
        "conversation.phone_number",
    )
    occurred = _iso(conversation.updated_at or conversation.last_active_at)
    said = Said(Source.KAPSO, "kapso", received_at, occurred, idem)
    detail: dict[str, Any] = {}
    if event.since_message:
        detail["since_message_id"] = event.since_message.get("id")
    if event.inactivity:
        detail["inactivity"] = event.inactivity
    return [
        *_name(who.lead_key, said, conversation),
        RecordConversation(
            who.lead_key,
            said,
            conversation_id=conversation.id,
            change=CONVERSATION_EVENTS[event_type],
            detail=detail or None,
        ),
    ]


def _content(raw: dict[str, Any]) -> dict[str, Any] | None:
    """{<type>: <the type's object>} plus Kapso's own fields under "kapso" (direction,
    status, origin, has_media, media_url, content…), verbatim."""
    kind = raw.get("type", "text")
    found = {k: raw[k] for k in (kind, "kapso") if isinstance(k, str) and k in raw}
    return found or None


def _name(key: str, said: Said, conversation: KapsoConversation | None) -> list[LeadCommand]:
    name = conversation.kapso.contact_name if conversation and conversation.kapso else None
    return [ReportContactName(key, said, name=name.strip())] if name and name.strip() else []


def _conv(conversation: KapsoConversation | None, name: str) -> str | None:
    value = getattr(conversation, name, None) if conversation else None
    return value if isinstance(value, str) and value.strip() else None


def _recipient(message: KapsoMessage, conversation: KapsoConversation | None) -> str | None:
    if conversation and conversation.phone_number:
        return conversation.phone_number
    if message.to:
        return message.to
    statuses = message.kapso.statuses if message.kapso else []
    return next((s.recipient_id for s in statuses if s.recipient_id), None)


def _media(raw: dict[str, Any], kind: str) -> dict[str, Any] | None:
    media = raw.get(kind)
    return {kind: media} if kind != "text" and isinstance(media, dict) else None


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
