"""Country rules that make two spellings of one mobile number one key.

WhatsApp ids keep forms the dialling plans have since changed, so a validator alone would
refuse them or split one person in two. Each rule works on international digits (country
code + national number, no "+") and returns the canonical digits; it only ever rewrites a
form into another form of the *same* subscriber number, so no two people can merge.
"""

from __future__ import annotations

import re

# Mexico dropped the mobile "1" after the country code in 2019; WhatsApp ids still carry it:
# 52 1 55 1234 5678 and +52 55 1234 5678 are one phone.
_MX_MOBILE_ONE = re.compile(r"521(\d{10})")

# Brazil added a ninth digit (a leading 9) to mobiles in 2012-2016; accounts registered before
# still have 12-digit ids: 55 + area (two digits, no 0) + 8 digits. Only mobiles got the 9 —
# their old 8-digit numbers began 6-9; landlines (2-5) keep 8 digits.
_BR_PRE_NINTH_DIGIT = re.compile(r"55([1-9][1-9])([6-9]\d{7})")

# Argentina: a mobile is written +54 9 + area + number internationally, and people (and some
# exports) drop the 9. The 10-digit national number (area 1-3…) is unique across fixed and
# mobile lines, so adding the 9 cannot join two subscribers; WhatsApp's ids carry it.
_AR_WITHOUT_NINE = re.compile(r"54([1-3]\d{9})")


def canonical_digits(digits: str) -> str:
    """The canonical international digits of `digits` (already without "+")."""
    if found := _MX_MOBILE_ONE.fullmatch(digits):
        return "52" + found.group(1)
    if found := _BR_PRE_NINTH_DIGIT.fullmatch(digits):
        return "55" + found.group(1) + "9" + found.group(2)
    if found := _AR_WITHOUT_NINE.fullmatch(digits):
        return "549" + found.group(1)
    return digits
