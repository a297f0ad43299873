"""Ids seen together are one customer: the links a delivery's parts imply.

A part that names a customer by phone and by business-scoped user id, or a `system`
message announcing a new number, is recorded on the lead that holds the customer's
history, with `IdentityLinked` facts tying the other ids to it (lead_resolution's
`resolve_sender`). The links are recorded in the same request as the part's facts but are
not reported as the part's facts: a redelivery finds them linked and appends nothing, and
its answer stays the same as the first one's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from adapters.eventstore.store import LedgerStore
from adapters.webhooks.translation import TranslatedItem
from domain.commands import LeadCommand
from domain.identity_links import key_identity
from domain.whatsapp_identity import Identity, IdentityKind
from service_layer.lead_resolution import resolve_number_change, resolve_sender


@dataclass(frozen=True)
class LinkedPart:
    """A part's commands moved to the holder's lead key, and the links to record first."""

    links: tuple[LeadCommand, ...]
    commands: tuple[LeadCommand, ...]


def linked_part(store: LedgerStore, workspace: str, item: TranslatedItem) -> LinkedPart:
    if not item.commands or (len(item.sender) < 2 and item.new_number is None):
        return LinkedPart((), tuple(item.commands))
    said = item.commands[0].said
    if item.new_number is not None:
        old = item.sender or (_identity_of_key(item.commands[0].phone),)
        resolved = resolve_number_change(store, workspace, old, item.new_number, said)
    else:
        resolved = resolve_sender(store, workspace, item.sender, said)
    if resolved is None:
        return LinkedPart((), tuple(item.commands))
    mine = {identity.lead_key for identity in item.sender}
    moved = tuple(
        replace(c, phone=resolved.record_on) if c.phone in mine else c for c in item.commands
    )
    return LinkedPart(tuple(resolved.links), moved)


def _identity_of_key(lead_key: str) -> Identity:
    kind, value = key_identity(lead_key)
    return Identity(cast(IdentityKind, kind), value, value)
