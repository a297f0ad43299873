"""Who is acting: the one seam between a signed-in key and the dashboard.

The key's principal (docs/security.md) decides the workspace, the role, the source and the
actor, as on the API. A console key acts for a named person: the name entered at sign-in
becomes its `on_behalf_of`. The session keeps the principal (the key's id, never the key).
"""

from __future__ import annotations

from typing import Any, TypeAlias

from domain.principal import NotOnBehalfError, Permission, Principal, Role
from service_layer.service import LeadLedgerService

ACTOR_MAX = 80
Acting: TypeAlias = Principal  # the signed-in principal, as the dashboard calls it


class SignInError(ValueError):
    """The sign-in form's input cannot sign anyone in (the message says why)."""


def identify(service: LeadLedgerService, api_key: str, name: str) -> Principal:
    key, person = api_key.strip(), " ".join(name.split())
    if not key:
        raise SignInError("Enter an API key.")
    if len(person) > ACTOR_MAX:
        raise SignInError(f"The name is longer than {ACTOR_MAX} characters.")
    principal = service.authenticate(key)
    if principal is None:
        raise SignInError("That API key is not known (or revoked, or expired).")
    if not principal.may(Permission.READ):
        raise SignInError(f"A {principal.role.value} key cannot read leads: use another key.")
    on_behalf_of = (person or None) if principal.role is Role.CONSOLE else None
    try:
        return principal.acting_for(on_behalf_of)
    except NotOnBehalfError:
        raise SignInError("A console key acts for a person: enter their name.") from None


def to_session(principal: Principal) -> dict[str, Any]:
    return {**principal.record(), "workspace": principal.workspace}


def from_session(data: dict[str, Any]) -> Principal | None:
    try:
        on_behalf_of = data.get("on_behalf_of")
        return Principal(
            str(data["workspace"]),
            Role(data["role"]),
            str(data["name"]),
            str(data["key_id"]),
            None if on_behalf_of is None else str(on_behalf_of),
        )
    except (KeyError, ValueError):
        return None
