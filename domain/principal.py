"""Who holds an API key: a principal. The key, never the request body, decides the
workspace, the source and the actor of what is recorded (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.values import Source


class Role(StrEnum):
    ADMIN = "admin"  # keys, erasure, import, policy; reads
    HUMAN = "human"  # a named person: status, release, notes; reads
    CONSOLE = "console"  # a back office acting for named people (`on_behalf_of`)
    BRAIN = "brain"  # Brain's status requests and notes, as brain
    SARAH = "sarah"  # Sarah's phase reports and notes, as sarah
    IMPORT = "import"  # legacy imports
    READER = "reader"  # read routes only


class Permission(StrEnum):
    """What a route needs (declared next to it, api/http/routes/)."""

    READ = "read"
    STATUS = "status"
    RELEASE = "release"
    NOTES = "notes"
    SARAH = "sarah"
    IMPORT = "import"
    ERASURE = "erasure"
    # Not HTTP routes: the `leadledger keys` and `projections rebuild --policy` commands,
    # which need shell access to the server's configuration and database.
    KEYS = "keys"
    POLICY = "policy"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({P.READ, P.IMPORT, P.ERASURE, P.KEYS, P.POLICY}),
    Role.HUMAN: frozenset({P.READ, P.STATUS, P.RELEASE, P.NOTES}),
    Role.CONSOLE: frozenset({P.READ, P.STATUS, P.RELEASE, P.NOTES}),
    Role.BRAIN: frozenset({P.STATUS, P.NOTES}),
    Role.SARAH: frozenset({P.SARAH, P.NOTES}),
    Role.IMPORT: frozenset({P.IMPORT}),
    Role.READER: frozenset({P.READ}),
}

# The source a role's facts are recorded under; a console speaks for humans.
ROLE_SOURCE: dict[Role, Source] = {
    Role.ADMIN: Source.HUMAN,
    Role.HUMAN: Source.HUMAN,
    Role.CONSOLE: Source.HUMAN,
    Role.BRAIN: Source.BRAIN,
    Role.SARAH: Source.SARAH,
    Role.IMPORT: Source.IMPORT,
    Role.READER: Source.HUMAN,  # never used: a reader records nothing
}


class NotOnBehalfError(ValueError):
    """A console must name the person it acts for; nobody else may name one."""


@dataclass(frozen=True)
class Principal:
    """The holder of one API key: its workspace, role and name (the actor recorded), and
    the key's id (never the secret). `on_behalf_of`: the person a console acts for."""

    workspace: str
    role: Role
    name: str
    key_id: str
    on_behalf_of: str | None = None

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def source(self) -> str:
        return ROLE_SOURCE[self.role].value

    @property
    def actor(self) -> str:
        """The actor recorded: the key's name, or *person via console-name*."""
        if self.on_behalf_of is not None:
            return f"{self.on_behalf_of} via {self.name}"
        return self.name

    def acting_for(self, person: str | None) -> Principal:
        """This principal for one request: a console names its person, others none."""
        if self.role is Role.CONSOLE:
            if not person:
                raise NotOnBehalfError("a console key must say on_behalf_of (the person)")
            return Principal(self.workspace, self.role, self.name, self.key_id, person)
        if person is not None:
            raise NotOnBehalfError(f"a {self.role.value} key cannot act on behalf of someone")
        return self

    def speaks_as(self, actor: str) -> bool:
        """Whether a body's `actor` names this principal (a console's person counts)."""
        if self.on_behalf_of is None:
            return actor == self.name
        return actor in (self.actor, self.on_behalf_of)

    def record(self) -> dict[str, Any]:
        """As stored in events: plain values, no secret."""
        return {
            "name": self.name,
            "role": self.role.value,
            "key_id": self.key_id,
            "on_behalf_of": self.on_behalf_of,
        }
