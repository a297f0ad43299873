"""Every id a Meta part names for its customer, and a number change it announces.

A message carries `from` (the phone) and, since business-scoped user ids, `from_user_id`;
the `contacts[]` entry beside it may add the other. The service links the ids seen
together to one lead (service_layer/identity_linking.py), so a customer first known by a
BSUID and later by phone stays one contact.
"""

from __future__ import annotations

from typing import Any

from adapters.webhooks.translation import text_or_none
from domain.whatsapp_identity import (
    Identity,
    InvalidIdentityError,
    phone_identity,
    sender_identities,
)


def sender_ids(key: str, raw: dict[str, Any], contacts: list[Any]) -> tuple[Identity, ...]:
    """The customer's ids in one message, status or contact part, phone first; () when it names
    fewer than two usable ids (nothing to link) or one of them is malformed."""
    contact: dict[str, Any] = next((c for c in contacts if isinstance(c, dict)), {})
    if key == "contacts":
        contact = raw
    profile: Any = contact.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    if key in ("messages", "contacts"):
        phone = text_or_none(raw.get("from")) or text_or_none(contact.get("wa_id"))
        user_id = text_or_none(raw.get("from_user_id")) or text_or_none(contact.get("user_id"))
    elif key == "statuses":
        phone = text_or_none(contact.get("wa_id"))
        user_id = text_or_none(raw.get("recipient_user_id")) or text_or_none(contact.get("user_id"))
    else:
        return ()
    try:
        found = sender_identities(phone, user_id, text_or_none(profile.get("username")))
    except InvalidIdentityError:
        return ()  # the part's own translation already judged its ids
    return found if len(found) > 1 else ()


def new_number(raw: dict[str, Any]) -> Identity | None:
    """The new phone of a `system` message saying the customer changed number."""
    system = raw.get("system")
    if raw.get("type") != "system" or not isinstance(system, dict):
        return None
    if system.get("type") != "user_changed_number":
        return None
    wa_id = text_or_none(system.get("wa_id")) or text_or_none(system.get("new_wa_id"))
    try:
        return phone_identity(wa_id) if wa_id else None
    except InvalidIdentityError:
        return None
