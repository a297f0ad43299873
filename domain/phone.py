"""E.164 phone numbers: one spelling per person, junk rejected."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class InvalidPhoneError(ValueError):
    """The text is not a dialable phone number."""


@lru_cache(maxsize=16384)  # pure and slow (~60 µs); one lead's messages repeat its number
def normalise_phone(text: str, default_region: str = "ID") -> str:
    """Return the E.164 form of `text`.

    A bare run of digits that starts with a country code (a WhatsApp id such as
    "6281234567890") is read as international; anything else that lacks a "+" is read
    in `default_region`, so "0812-3456-7890" and "+62 812 3456 7890" agree.
    """
    raw = text.strip()
    if not raw or len(raw) > 40:
        raise InvalidPhoneError(f"not a phone number: {text!r}")
    for candidate, region in _readings(raw, default_region):
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        # parse() accepts junk such as "abc123"; only a valid number counts.
        if phonenumbers.is_valid_number(parsed) and not parsed.extension:
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    raise InvalidPhoneError(f"not a valid phone number: {text!r}")


def _readings(raw: str, default_region: str) -> list[tuple[str, str | None]]:
    if raw.startswith("+"):
        return [(raw, None)]
    if raw.isdigit() and not raw.startswith("0"):
        # WhatsApp ids are digits without "+": international first, local as a fallback.
        return [("+" + raw, None), (raw, default_region)]
    return [(raw, default_region)]
