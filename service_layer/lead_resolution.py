"""Which lead a phone means now: its first generation that is not erased.

Erased leads keep their ids (uuid5 of workspace and phone, docs/erasure.md); a new message
from the same phone starts generation n+1, a new history not linked to the erased one.
The key store's tombstones answer "erased?" without loading aggregates; an aggregate that
turns out erased after all (an erasure committed a moment ago) is reported as a conflict,
so the write is retried and resolves again.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from adapters.eventstore.store import LedgerStore
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.lead import Lead

MAX_GENERATIONS = 10_000  # a guard against a corrupt key store, far above real erasures


def current_lead_id(store: LedgerStore, workspace: str, phone_e164: str) -> UUID:
    for generation in range(MAX_GENERATIONS):
        lead_id = lead_id_for(workspace, phone_e164, generation)
        if not store.keys.is_erased(lead_id):
            return lead_id
    raise RuntimeError(f"more than {MAX_GENERATIONS} erased leads for one phone")


def erased_lead_ids(store: LedgerStore, workspace: str, phone_e164: str) -> list[UUID]:
    """The phone's erased generations, oldest first (stops at the current one)."""
    found: list[UUID] = []
    for generation in range(MAX_GENERATIONS):
        lead_id = lead_id_for(workspace, phone_e164, generation)
        if not store.keys.is_erased(lead_id):
            return found
        found.append(lead_id)
    return found


def register_lead(lead_id: UUID, workspace: str, phone_e164: str, said: Said) -> Lead:
    """A new Lead under a given id (its phone's current generation): eventsourcing's
    `_create` takes the id instead of calling Lead.create_id."""
    return Lead._create(
        Lead.Registered,
        id=lead_id,
        workspace=workspace,
        phone=phone_e164,
        **said.fields(),
    )


def refuse_if_erased(store: LedgerStore, lead: Lead) -> None:
    """Called on a lead loaded for writing. If it is erased (its tombstone may still be
    missing: the erasure just committed, or its process died before destroying the key),
    finish the erasure's key destruction and make the caller retry on fresh state."""
    if lead.erased:
        store.keys.destroy(lead.id)
        store.forget_cached(lead.id)
        raise IntegrityError(f"lead {lead.id} was erased: resolve the phone again")
