"""Who a WhatsApp webhook is about: a phone, a business-scoped user id, or a username.

Since 2026 WhatsApp may send a customer without a phone: `user_id` / `from_user_id` (Meta)
or `business_scoped_user_id` (Kapso) carries a business-scoped user id (BSUID, e.g.
"US.13491208655302741918"), and `from` / `wa_id` may be empty. An `Identity` keeps the
canonical key a lead is derived from *and* the exact id WhatsApp sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from domain.phone import InvalidPhoneError, whatsapp_phone

IdentityKind = Literal["phone", "wa_user", "wa_username"]


class InvalidIdentityError(ValueError):
    """The text is not a WhatsApp id of the kind it was given as."""


@dataclass(frozen=True, slots=True)
class Identity:
    kind: IdentityKind
    value: str  # canonical: E.164 for a phone, the BSUID as sent, "@name" lower-cased
    raw: str  # exactly what WhatsApp sent

    @property
    def lead_key(self) -> str:
        """The text a lead id is derived from. A phone's is its E.164, as before BSUIDs, so
        phone-keyed leads keep their ids; other kinds are prefixed and can never equal a
        phone (which starts with "+")."""
        return self.value if self.kind == "phone" else f"{self.kind}:{self.value}"


def phone_identity(wa_id: str) -> Identity:
    """ "5215512345678" -> Identity("phone", "+525512345678", raw="5215512345678")."""
    try:
        return Identity("phone", whatsapp_phone(wa_id), wa_id)
    except InvalidPhoneError as exc:
        raise InvalidIdentityError(str(exc)) from None


# Country (2 letters), optionally ".ENT" for a parent BSUID, then up to 256 alphanumerics;
# Meta's first examples used "user.<hex>", so the prefix is any short word. A dot is always
# there, so a digits-only phone id can never pass for a BSUID.
_BSUID = re.compile(r"[A-Za-z]{2,8}(?:\.ENT)?\.[A-Za-z0-9]{1,256}")


def user_identity(user_id: str) -> Identity:
    """A business-scoped user id, kept as sent: it is opaque and case matters."""
    value = user_id.strip()
    if not _BSUID.fullmatch(value):
        raise InvalidIdentityError(f"not a WhatsApp business-scoped user id: {user_id!r}")
    return Identity("wa_user", value, user_id)


_USERNAME = re.compile(r"@?([A-Za-z0-9._]{1,64})")


def username_identity(username: str) -> Identity:
    """A WhatsApp username ("@realsheenanelson"). Users can change it: a last resort only."""
    found = _USERNAME.fullmatch(username.strip())
    if found is None:
        raise InvalidIdentityError(f"not a WhatsApp username: {username!r}")
    return Identity("wa_username", "@" + found.group(1).lower(), username)


def sender_identities(
    phone: str | None, user_id: str | None = None, username: str | None = None
) -> tuple[Identity, ...]:
    """Every id a payload gives for one person, the lead key first.

    The phone comes first whenever there is one: leads were keyed by phone before BSUIDs
    existed, and a BSUID now arrives beside the phone in every message, so keying by BSUID
    first would split each existing lead in two. The BSUID keys a customer who comes without
    a phone; a username only when nothing else is given. Empty strings ("from": "", what
    Meta sends for a username user) count as absent; an id that is present but malformed
    raises `InvalidIdentityError` rather than being skipped.
    """
    found: list[Identity] = []
    if phone:
        found.append(phone_identity(phone))
    if user_id:
        found.append(user_identity(user_id))
    if username:
        found.append(username_identity(username))
    return tuple(found)


def sender_identity(
    phone: str | None, user_id: str | None = None, username: str | None = None
) -> Identity | None:
    """The identity a lead is keyed by, or None when the payload names nobody."""
    found = sender_identities(phone, user_id, username)
    return found[0] if found else None
