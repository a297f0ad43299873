"""The parts of one WhatsApp Cloud change's `value`, each translated on its own.

`messages[]` (every documented type, `system` included), `statuses[]` and
`message_echoes[]` (smb_message_echoes) become one part each; `contacts[]` names become
`contact` parts; `value.errors[]` (about the business, not a customer) is kept raw. Each
part carries the whole of what WhatsApp said about it (domain/message_parts.py) and is
keyed by the person's phone whenever the change gives one for them anywhere — `from`,
`recipient_id`, `to` or the matching `contacts[].wa_id` — else by their BSUID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.webhooks.meta_message import (
    message_content,
    message_kind,
    message_media,
    message_text,
)
from adapters.webhooks.meta_models import MetaContact, MetaEcho, MetaMessage, MetaStatus
from adapters.webhooks.meta_sender import new_number, sender_ids
from adapters.webhooks.translation import (
    TranslatedItem,
    TranslationError,
    identity_of,
    kept_raw,
    text_or_none,
    unix_time,
)
from domain.commands import (
    LeadCommand,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
)
from domain.envelope import Said
from domain.message_parts import InboundParts, OutboundParts, StatusParts
from domain.values import Source

# Keys of a `value` that are read; anything else is kept raw, never dropped.
KNOWN_KEYS = {"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"}
ECHO_KEYS = {"messaging_product", "metadata", "contacts", "message_echoes"}
# Keys of a status that are typed fields; the rest (conversation, pricing…) is its detail.
STATUS_TYPED = {"id", "status", "timestamp", "recipient_id", "recipient_user_id", "errors"}


@dataclass(frozen=True)
class ChangeContext:
    entry_id: str | None
    path: str  # "entry.0.changes.1"
    received_at: datetime
    region: str

    def body(self, change: Any) -> dict[str, Any]:
        """A Meta body holding just this change: what a kept part stores, so that it can
        be translated again as it is (re-ingestion)."""
        entry = {"id": self.entry_id, "changes": [change]}
        return {"object": "whatsapp_business_account", "entry": [entry]}

    def said(self, timestamp: str | int | None) -> Said:
        # Meta sends no idempotency key: message ids and (id, status) dedupe instead.
        return Said(Source.META, "meta", self.received_at, unix_time(timestamp), None)


Translate = Callable[[dict[str, Any], list[dict[str, Any]]], tuple[str, list[LeadCommand]]]


def value_parts(field: str, value: dict[str, Any], context: ChangeContext) -> list[TranslatedItem]:
    contacts = _list(value, "contacts")
    header: dict[str, Any] = {k: value[k] for k in ("messaging_product", "metadata") if k in value}
    known = ECHO_KEYS if field == "smb_message_echoes" else KNOWN_KEYS
    lists: list[tuple[str, Translate]] = (
        [("message_echoes", lambda raw, _c: _echo(raw, contacts, context))]
        if field == "smb_message_echoes"
        else [
            ("messages", lambda raw, _c: _message(raw, contacts, context)),
            ("statuses", lambda raw, _c: _status(raw, contacts, context)),
        ]
    )
    items: list[TranslatedItem] = []

    def part(key: str, index: int, raw: Any, translate: Translate | None, why: str = "") -> None:
        path = f"{context.path}.value.{key}.{index}"
        related = [c for c in contacts if _same_person(c, raw)] if key != "contacts" else []
        mini: dict[str, Any] = {**header, key: [raw]}
        if related:
            mini["contacts"] = related
        whole = context.body({"field": field, "value": mini})
        if translate is None or not isinstance(raw, dict):
            items.append(kept_raw(whole, f"{path}: {why or 'an object is expected'}", path))
            return
        try:
            kind, commands = translate(raw, related)
        except TranslationError as exc:
            items.append(kept_raw(whole, f"{path}.{exc}", path, _kind_guess(key, raw)))
            return
        items.append(
            TranslatedItem(
                None,
                commands,
                raw=whole,
                part=path,
                kind=kind,
                sender=sender_ids(key, raw, related) if isinstance(raw, dict) else (),
                new_number=new_number(raw) if key == "messages" else None,
            )
        )

    stamps = _timestamps(value)
    for index, raw in enumerate(contacts):  # names first, as Kapso's come
        part("contacts", index, raw, lambda c, _r: _contact(c, stamps, context))
    for key, translate in lists:
        for index, raw in enumerate(_list(value, key)):
            part(key, index, raw, translate)
    errors = value.get("errors")
    if errors:  # one part: a fact about the business, nobody to attach it to
        path = f"{context.path}.value.errors"
        mini = {**header, "errors": errors}
        reason = f"{path}: an error about the business, not a customer (no lead to attach it to)"
        whole = context.body({"field": field, "value": mini})
        items.append(kept_raw(whole, reason, path, "errors"))
    for key in sorted(set(value) - known):
        part(key, 0, value[key], None, f"value.{key} is not translated")
    if not items:
        whole = context.body({"field": field, "value": value})
        items.append(kept_raw(whole, f"{context.path}: nothing in the value", context.path))
    return items


def _message(
    raw: dict[str, Any], contacts: list[Any], context: ChangeContext
) -> tuple[str, list[LeadCommand]]:
    message = _parse(MetaMessage, raw)
    contact = _contact_of(contacts, message.from_, message.from_user_id)
    who = identity_of(
        message.from_ or _get(contact, "wa_id"),
        message.from_user_id or _get(contact, "user_id"),
        _username(contact),
        context.region,
        "from",
    )
    parts = InboundParts(
        wa_id=text_or_none(raw.get("from")) or text_or_none(raw.get("from_user_id")),
        content=message_content(raw),
        referral=_dict(raw.get("referral")),
        context=_dict(raw.get("context")),
        errors=raw.get("errors") or None,
    )
    command = RecordInboundMessage(
        who.lead_key,
        context.said(message.timestamp),
        message_id=message.id,
        message_type=message.type,
        text=message_text(message),
        media=message_media(message),
        parts=parts,
    )
    return message_kind(raw, message.type), [command]


def _status(
    raw: dict[str, Any], contacts: list[Any], context: ChangeContext
) -> tuple[str, list[LeadCommand]]:
    status = _parse(MetaStatus, raw)
    if status.recipient_type == "group":
        raise TranslationError("recipient_type", "a group recipient is not a lead")
    contact = _contact_of(contacts, status.recipient_id, status.recipient_user_id)
    who = identity_of(
        status.recipient_id or _get(contact, "wa_id"),
        status.recipient_user_id or _get(contact, "user_id"),
        _username(contact),
        context.region,
        "recipient_id",
    )
    error = status.errors[0] if status.errors else None
    detail = {k: v for k, v in raw.items() if k not in STATUS_TYPED}
    command = RecordMessageStatus(
        who.lead_key,
        context.said(status.timestamp),
        message_id=status.id,
        status=status.status,
        error_code=error.code if error else None,
        error_title=error.title if error else None,
        parts=StatusParts(
            errors=raw.get("errors") or None,
            recipient_id=text_or_none(raw.get("recipient_id"))
            or text_or_none(raw.get("recipient_user_id")),
            detail=detail or None,
        ),
    )
    return f"status:{status.status}", [command]


def _echo(
    raw: dict[str, Any], contacts: list[Any], context: ChangeContext
) -> tuple[str, list[LeadCommand]]:
    echo = _parse(MetaEcho, raw)
    contact = _contact_of(contacts, echo.to, echo.to_user_id)
    who = identity_of(
        echo.to or _get(contact, "wa_id"),
        echo.to_user_id or _get(contact, "user_id"),
        _username(contact),
        context.region,
        "to",
    )
    command = RecordOutboundMessage(
        who.lead_key,
        context.said(echo.timestamp),
        message_id=echo.id,
        message_type=echo.type,
        text=echo.text.body if echo.text else None,
        origin="business_app",
        parts=OutboundParts(
            content=message_content(raw),
            echo=True,
            wa_id=text_or_none(raw.get("to")) or text_or_none(raw.get("to_user_id")),
        ),
    )
    return f"echo:{echo.type}", [command]


def _contact(
    raw: dict[str, Any], stamps: dict[str, str | int | None], context: ChangeContext
) -> tuple[str, list[LeadCommand]]:
    contact = _parse(MetaContact, raw)
    name = (contact.profile.name or "").strip() if contact.profile else ""
    if not name:
        return "contact", []  # nothing said but ids, which the parts beside it carry
    who = identity_of(contact.wa_id, contact.user_id, _username(raw), context.region, "wa_id")
    # A name has no time of its own: take that of the person's message, if any.
    stamp = stamps.get(contact.wa_id or "") or stamps.get(contact.user_id or "")
    return "contact", [ReportContactName(who.lead_key, context.said(stamp), name=name)]


def _parse(model: type[Any], raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise TranslationError.from_validation(exc) from None


def _kind_guess(key: str, raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    label = {"messages": "message", "statuses": "status", "message_echoes": "echo"}.get(key, key)
    return f"{label}:{raw.get('status') or raw.get('type')}"


def _list(value: dict[str, Any], key: str) -> list[Any]:
    found = value.get(key)
    return found if isinstance(found, list) else ([] if found is None else [found])


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _get(contact: dict[str, Any] | None, key: str) -> str | None:
    return text_or_none(contact.get(key)) if contact else None


def _username(contact: dict[str, Any] | None) -> str | None:
    profile = contact.get("profile") if contact else None
    return text_or_none(profile.get("username")) if isinstance(profile, dict) else None


def _same_person(contact: Any, part: Any) -> bool:
    if not isinstance(contact, dict) or not isinstance(part, dict):
        return False
    ids = {text_or_none(contact.get("wa_id")), text_or_none(contact.get("user_id"))} - {None}
    mine = {
        text_or_none(part.get(k))
        for k in ("from", "from_user_id", "recipient_id", "recipient_user_id", "to", "to_user_id")
    }
    return bool(ids & mine)


def _contact_of(
    contacts: list[Any], phone: str | None, user_id: str | None
) -> dict[str, Any] | None:
    probe = {"from": phone, "from_user_id": user_id}
    return next((c for c in contacts if _same_person(c, probe)), None)


def _timestamps(value: dict[str, Any]) -> dict[str, str | int | None]:
    stamps: dict[str, str | int | None] = {}
    for message in _list(value, "messages"):
        if isinstance(message, dict):
            for key in ("from", "from_user_id"):
                if text_or_none(message.get(key)):
                    stamps.setdefault(message[key], message.get("timestamp"))
    return stamps
