"""E.164 phone numbers: one spelling per person, junk rejected."""

from __future__ import annotations

import re
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
    return _indonesian(raw, default_region) or _parsed(raw, default_region, text)


# The spellings WhatsApp ids and Indonesian exports use: +62…, 62…, 08… (a mobile, read in
# region ID), with spaces, dashes or dots. For them only the validity check is needed (a
# quarter of a full parse); anything else, or a number that fails it, takes the full path.
_ID_SPELLING = re.compile(r"(?:\+62|62|0(?=8))([1-9]\d{5,14})")
_PUNCTUATION = str.maketrans("", "", " -.")
_ID = 62


def _indonesian(raw: str, default_region: str) -> str | None:
    compact = raw.translate(_PUNCTUATION)
    found = _ID_SPELLING.fullmatch(compact)
    if found is None or (compact[0] == "0" and default_region != "ID"):
        return None
    if compact[0] == "6" and not raw.isdigit():
        return None  # "62 21…" with spaces is read in the region first (_readings)
    national = found.group(1)
    number = phonenumbers.PhoneNumber(country_code=_ID, national_number=int(national))
    return f"+{_ID}{national}" if phonenumbers.is_valid_number(number) else None


def _parsed(raw: str, default_region: str, text: str) -> str:
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
