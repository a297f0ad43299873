"""What a payload translator hands the ledger: commands per WhatsApp number, or a reason
to keep the delivery raw. Shared by the Kapso and WhatsApp Cloud translators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from domain.commands import LeadCommand
from domain.phone import InvalidPhoneError, normalise_phone


class TranslationError(ValueError):
    """A well-formed body that fails validation; `field` names the offending field."""

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
    """One event of a delivery: its WhatsApp number id and the commands it yields."""

    phone_number_id: str | None
    commands: list[LeadCommand] = field(default_factory=list)
    unhandled_reason: str | None = None  # set: keep this item raw, do not drop it
    event_type: str | None = None
    raw: Any = None


def phone_or_error(text: str | None, field_path: str, default_region: str) -> str:
    if text is None or not str(text).strip():
        raise TranslationError(field_path, "a phone number is required")
    try:
        return normalise_phone(str(text), default_region)
    except InvalidPhoneError as exc:
        raise TranslationError(field_path, str(exc)) from None


def unix_time(value: str | int | None) -> datetime | None:
    """WhatsApp timestamps are unix seconds, often as strings."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
