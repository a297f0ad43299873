"""The typed fields of a WhatsApp Cloud message the views use — its words (`text`) and its
media object — and the verbatim `content` and `kind` of a message part."""

from __future__ import annotations

from typing import Any

from adapters.webhooks.meta_models import MetaMedia, MetaMessage


def message_content(raw: dict[str, Any]) -> dict[str, Any] | None:
    kind = raw.get("type")
    return {kind: raw[kind]} if isinstance(kind, str) and kind in raw else None


def message_kind(raw: dict[str, Any], message_type: str) -> str:
    inner = raw.get(message_type)
    subtype = inner.get("type") if isinstance(inner, dict) else None
    if message_type == "system":
        return f"system:{subtype}"
    if message_type == "interactive" and isinstance(subtype, str):
        return f"message:interactive.{subtype}"
    return f"message:{message_type}"


def _media_object(message: MetaMessage) -> MetaMedia | None:
    return {
        "image": message.image,
        "audio": message.audio,
        "video": message.video,
        "document": message.document,
        "sticker": message.sticker,
    }.get(message.type)


def message_media(message: MetaMessage) -> dict[str, Any] | None:
    media = _media_object(message)
    return {message.type: media.model_dump(exclude_none=True)} if media else None


def message_text(message: MetaMessage) -> str | None:
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
