"""Who is acting: the one seam between a signed-in key and the dashboard.

Today a key names a workspace and the person types their name at sign-in; the actions are
recorded with source `human` and that name. When API-key principals with roles arrive,
`identify` resolves the principal instead and `Acting` carries its role; nothing else in
the dashboard needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.config.workspaces import hash_api_key
from service_layer.service import LeadLedgerService

ACTOR_MAX = 80


@dataclass(frozen=True)
class Acting:
    workspace: str
    actor: str  # recorded on every action this person takes
    key_id: str  # a short prefix of the key's SHA-256: names the key, never reveals it
    source: str = "human"

    def to_session(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "actor": self.actor, "key_id": self.key_id}

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Acting | None:
        try:
            return cls(str(data["workspace"]), str(data["actor"]), str(data["key_id"]))
        except KeyError:
            return None


class SignInError(ValueError):
    """The sign-in form's input cannot sign anyone in (the message says why)."""


def identify(service: LeadLedgerService, api_key: str, name: str) -> Acting:
    key, actor = api_key.strip(), " ".join(name.split())
    if not key:
        raise SignInError("Enter an API key.")
    if not actor:
        raise SignInError("Enter your name: your actions are recorded under it.")
    if len(actor) > ACTOR_MAX:
        raise SignInError(f"Your name is longer than {ACTOR_MAX} characters.")
    workspace = service.workspaces.for_api_key(key)
    if workspace is None:
        raise SignInError("That API key is not known.")
    return Acting(workspace, actor, hash_api_key(key)[:12])
