"""What a payload translator hands the ledger: one `TranslatedItem` per part of a delivery
(a message, a status, a Kapso event or batch element…), each with its commands or the
reason it is kept raw. Shared by the Kapso and WhatsApp Cloud translators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from domain.commands import LeadCommand
from domain.phone import InvalidPhoneError, normalise_phone
from domain.whatsapp_identity import (
    Identity,
    InvalidIdentityError,
    user_identity,
    username_identity,
)


class TranslationError(ValueError):
    """A part that cannot be translated; `field` names the offending field. The part is
    kept raw with this as its reason, never refused (docs/webhooks.md)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    @classmethod
    def from_validation(cls, exc: ValidationError, prefix: str = "") -> TranslationError:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
        return cls(path or "body", first["msg"])


@dataclass
class TranslatedItem:
    """One part of a delivery: its WhatsApp number id and either the commands it yields or
    `unhandled_reason` (then `raw` is kept as an unhandled delivery, never dropped).

    `raw` is the part alone, in a shape its translator takes again (re-ingestion): a Meta
    body with just this part, a Kapso event. `part` says where it was in the delivery,
    `kind` what it is (`message:text`, `status:read`, `echo:text`, `conversation:ended`…)."""

    phone_number_id: str | None
    commands: list[LeadCommand] = field(default_factory=list)
    unhandled_reason: str | None = None
    event_type: str | None = None
    raw: Any = None
    part: str = "body"
    kind: str | None = None
    # Every id the part names for its customer (phone first), to be linked to one lead,
    # and the new phone a "number changed" message announces.
    sender: tuple[Identity, ...] = ()
    new_number: Identity | None = None


def kept_raw(
    raw: Any,
    reason: str,
    part: str,
    kind: str | None = None,
    phone_number_id: str | None = None,
    event_type: str | None = None,
) -> TranslatedItem:
    return TranslatedItem(
        phone_number_id=phone_number_id,
        unhandled_reason=reason,
        event_type=event_type,
        raw=raw,
        part=part,
        kind=kind,
    )


def identity_of(
    phone: str | None,
    user_id: str | None,
    username: str | None,
    region: str,
    field_path: str,
) -> Identity:
    """Who a part is about: the phone whenever there is one (phone-keyed leads keep their
    keys), else the business-scoped user id, else the username (docs/webhooks.md, Identity).
    Raises TranslationError when it names nobody or an id is malformed."""
    try:
        if phone is not None and str(phone).strip():
            return Identity("phone", phone_or_error(phone, field_path, region), str(phone))
        if user_id is not None and user_id.strip():
            return user_identity(user_id)
        if username is not None and username.strip():
            return username_identity(username)
    except InvalidIdentityError as exc:
        raise TranslationError(field_path, str(exc)) from None
    raise TranslationError(field_path, "no usable identity (no phone, user id or username)")


def phone_or_error(text: str | None, field_path: str, default_region: str) -> str:
    if text is None or not str(text).strip():
        raise TranslationError(field_path, "a phone number is required")
    try:
        return normalise_phone(str(text), default_region)
    except InvalidPhoneError as exc:
        raise TranslationError(field_path, str(exc)) from None


def text_or_none(value: Any) -> str | None:
    """A loosely read id: a non-empty string, else None."""
    return value if isinstance(value, str) and value != "" else None


def unix_time(value: str | int | None) -> datetime | None:
    """WhatsApp timestamps are unix seconds, often as strings."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
