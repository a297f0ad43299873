"""WhatsApp Cloud API (Meta) webhook → lead commands, one part at a time.

The envelope (`object`, `entry[]`, `changes[]`) is read loosely: an entry or change that is
not what the reference documents is kept raw on its own, beside the parts that translate.
Each change's parts (messages, statuses, echoes, contacts, `value.errors`) are translated
by adapters/webhooks/meta_value.py. Nothing here refuses a delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.webhooks.meta_value import ChangeContext, value_parts
from adapters.webhooks.translation import TranslatedItem, kept_raw, text_or_none

WABA_OBJECT = "whatsapp_business_account"


def translate_meta(body: Any, received_at: datetime, default_region: str) -> list[TranslatedItem]:
    """One item per part of the delivery, translated or kept raw with its reason."""
    if not isinstance(body, dict):
        return [kept_raw(body, "body: a JSON object is expected", "body", "delivery")]
    if body.get("object") != WABA_OBJECT:
        reason = f"object: expected {WABA_OBJECT!r}, got {body.get('object')!r}"
        return [kept_raw(body, reason, "body", "delivery", _any_phone_number_id(body))]
    entries = body.get("entry")
    if not isinstance(entries, list):
        return [kept_raw(body, "entry: a list is expected", "body", "delivery")]
    items: list[TranslatedItem] = []
    for e, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raw = {"object": WABA_OBJECT, "entry": [entry]}
            reason = f"entry.{e}.changes: a list is expected"
            items.append(kept_raw(raw, reason, f"entry.{e}", "entry"))
            continue
        for c, change in enumerate(changes):
            context = ChangeContext(
                entry_id=text_or_none(entry.get("id")),
                path=f"entry.{e}.changes.{c}",
                received_at=received_at,
                region=default_region,
            )
            items += _change_parts(change, context)
    return items


def _change_parts(change: Any, context: ChangeContext) -> list[TranslatedItem]:
    field = change.get("field") if isinstance(change, dict) else None
    value = change.get("value") if isinstance(change, dict) else None
    if not isinstance(field, str) or not isinstance(value, dict):
        wrong = "field: a name is expected" if not isinstance(field, str) else "value: an object"
        reason = f"{context.path}.{wrong}"
        return [kept_raw(context.body(change), reason, context.path, "change")]
    pnid = _phone_number_id(value)
    if field not in ("messages", "smb_message_echoes"):
        reason = f"{context.path}: unhandled field {field!r}"
        kind = f"field:{field}"
        return [kept_raw(context.body(change), reason, context.path, kind, pnid, f"meta.{field}")]
    items = value_parts(field, value, context)
    for item in items:
        item.phone_number_id = pnid
        item.event_type = f"meta.{field}"
    return items


def _phone_number_id(value: dict[str, Any]) -> str | None:
    metadata = value.get("metadata")
    pnid = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return str(pnid) if isinstance(pnid, str | int) and pnid != "" else None


def _any_phone_number_id(body: dict[str, Any]) -> str | None:
    """The number a malformed body names, if it names one where Meta puts it."""
    try:
        return _phone_number_id(body["entry"][0]["changes"][0]["value"])
    except (KeyError, IndexError, TypeError):
        return None
