"""The command that links another id of a person to a lead (docs/read-models.md, "One
person, many ids"). Kept apart from domain/commands.py: the write side's translators emit
it only through `service_layer/lead_resolution.resolve_sender`, which decides the links."""

from __future__ import annotations

from dataclasses import dataclass

from domain.commands import LeadCommand
from domain.lead import Lead


@dataclass(frozen=True)
class LinkIdentity(LeadCommand):
    """On the lead keyed by `phone` (any lead key), record that `identity` of `kind` names
    the same person. `held_by`: the id of the lead holding their history, when it is
    another lead."""

    identity: str = ""
    kind: str = "phone"
    reason: str = "seen_together"
    held_by: str | None = None
    merged_facts: list[str] | None = None

    @property
    def fact(self) -> str:
        return f"link:{self.kind}:{self.identity}"

    def apply(self, lead: Lead) -> bool:
        return lead.link_identity(
            self.said, self.identity, self.kind, self.reason, self.held_by, self.merged_facts
        )


def key_identity(lead_key: str) -> tuple[str, str]:
    """(kind, canonical value) of a lead key, the inverse of `Identity.lead_key`."""
    for kind in ("wa_user", "wa_username"):
        if lead_key.startswith(f"{kind}:"):
            return kind, lead_key.removeprefix(f"{kind}:")
    return "phone", lead_key
