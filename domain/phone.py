"""E.164 phone numbers: one spelling per person, junk rejected.

Two kinds of input: ids WhatsApp sends (digits, maybe a "+": always international, checked
for a possible length, because WhatsApp keeps forms a validator refuses) and numbers people
write (spaces, dashes, a trunk 0: read in the default region, checked for validity). Both
go through the same country rules (domain/country_rules.py), so each person has one key.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from domain.country_rules import canonical_digits


class InvalidPhoneError(ValueError):
    """The text is not a dialable phone number."""


@lru_cache(maxsize=16384)  # pure and slow (~60 µs); one lead's messages repeat its number
def normalise_phone(text: str, default_region: str = "ID") -> str:
    """Return the canonical E.164 form of `text`.

    A compact run of digits (a WhatsApp id such as "6281234567890", or "+" and digits) is
    read as international only — never in `default_region`, which would turn a foreign id
    into a local stranger; anything else that lacks a "+" is read in `default_region`, so
    "0812-3456-7890" and "+62 812 3456 7890" agree.
    """
    raw = text.strip()
    if not raw or len(raw) > 40:
        raise InvalidPhoneError(f"not a phone number: {text!r}")
    fast = _indonesian(raw, default_region)
    if fast is not None:
        return fast
    if _WHATSAPP_ID.fullmatch(raw):
        return whatsapp_phone(raw)
    return _parsed(raw, default_region, text)


# A WhatsApp id as Meta (bare digits) or Kapso ("+" + the same digits) writes it.
_WHATSAPP_ID = re.compile(r"\+?[1-9][0-9]{1,17}")


@lru_cache(maxsize=16384)
def whatsapp_phone(wa_id: str) -> str:
    """The canonical E.164 key of a WhatsApp id ("5215512345678" -> "+525512345678").

    Strictly international, and only `is_possible_number` (plus the country rules): WhatsApp
    sends ids that are no longer valid dialling forms (Mexico's 521…, Brazil's 12-digit
    mobiles) or that metadata does not know yet, and refusing them would lose the customer.
    """
    raw = wa_id.strip()
    if not _WHATSAPP_ID.fullmatch(raw):
        raise InvalidPhoneError(f"not a WhatsApp phone id: {wa_id!r}")
    digits = canonical_digits(raw.removeprefix("+"))
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneError(f"not a WhatsApp phone id: {wa_id!r}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneError(f"not a possible phone number: {wa_id!r}")
    return "+" + digits


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
        if parsed.extension:
            continue
        digits = f"{parsed.country_code}{parsed.national_number}"
        canonical = canonical_digits(digits)
        if canonical != digits:  # the rules only rewrite long, well-formed numbers
            parsed = phonenumbers.parse("+" + canonical, None)
        # parse() accepts junk such as "abc123"; only a valid number counts.
        if phonenumbers.is_valid_number(parsed):
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    raise InvalidPhoneError(f"not a valid phone number: {text!r}")


def _readings(raw: str, default_region: str) -> list[tuple[str, str | None]]:
    if raw.startswith("+"):
        return [(raw, None)]
    if raw.isdigit() and not raw.startswith("0"):
        # A WhatsApp id: international only. Reading it in the default region as a fallback
        # turned "97150123456" (UAE) into "+6297150123456", a stranger.
        return [("+" + raw, None)]
    return [(raw, default_region)]


_TYPED_DIGITS = re.compile(r"\+?\(?[0-9][0-9 ().-]*")
_NOT_DIGITS = re.compile(r"[^0-9]")


def international_digits(text: str, default_region: str = "ID") -> str | None:
    """A whole or partial phone as typed ("0819-12", "+62 819 12") as the digits of its
    international spelling ("6281912"), for searching; None when `text` is no number.

    A leading trunk prefix (0 in Indonesia) is read in `default_region`; partial numbers
    are fine, nothing is validated."""
    raw = text.strip()
    if not _TYPED_DIGITS.fullmatch(raw):
        return None
    digits = _NOT_DIGITS.sub("", raw)
    if raw.startswith("+"):
        return digits
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(default_region.upper())
    trunk = None if metadata is None else metadata.national_prefix
    if metadata is None or not trunk or not digits.startswith(trunk) or digits == trunk:
        return digits
    return f"{metadata.country_code}{digits.removeprefix(trunk)}"
