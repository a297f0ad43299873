"""Which lead a phone (or any lead key) means now: its first generation that is not
erased, and the lead holding the person's history when another id of theirs was linked
(`resolve_sender`, docs/read-models.md "One person, many ids").

Erased leads keep their ids (uuid5 of workspace and phone, docs/erasure.md); a new message
from the same phone starts generation n+1, a new history not linked to the erased one.
The key store's tombstones answer "erased?" without loading aggregates; an aggregate that
turns out erased after all (an erasure committed a moment ago) is reported as a conflict,
so the write is retried and resolves again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from adapters.eventstore.store import LedgerStore
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.identity_links import LinkIdentity, key_identity
from domain.lead import Lead
from domain.whatsapp_identity import Identity

MAX_GENERATIONS = 10_000  # a guard against a corrupt key store, far above real erasures
# Links form chains only when two histories were merged (each hop is one merge); a bound
# guards against a cycle that two racing merges could in principle write.
MAX_HOPS = 8


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


def stored_lead(store: LedgerStore, lead_id: UUID) -> Lead | None:
    try:
        lead: object = store.repository.get(lead_id)
    except AggregateNotFoundError:
        return None
    return lead if isinstance(lead, Lead) else None


def holder_of(store: LedgerStore, lead: Lead, known: dict[UUID, Lead] | None = None) -> Lead:
    """The lead holding the person's history: `lead` itself, or where its links point.
    A link to an erased or missing lead is not followed (the erased history stays
    unlinked, as for a phone, docs/erasure.md). `known`: leads already loaded."""
    for _ in range(MAX_HOPS):
        if lead.held_by is None:
            return lead
        held_by = UUID(lead.held_by)
        holder = (known or {}).get(held_by) or stored_lead(store, held_by)
        if holder is None or holder.erased or holder.workspace != lead.workspace:
            return lead
        lead = holder
    return lead


def linked_lead_ids(store: LedgerStore, lead: Lead) -> list[UUID]:
    """The leads of the person's other ids that point at `lead` (their own leads, or
    histories merged into it), found through the links `lead` recorded (its fact keys)."""
    found: list[UUID] = []
    for fact in sorted(lead.facts):
        if not fact.startswith("link:"):
            continue
        kind, identity = fact.removeprefix("link:").split(":", 1)
        key = identity if kind == "phone" else f"{kind}:{identity}"
        other = stored_lead(store, current_lead_id(store, lead.workspace, key))
        if other is not None and other.held_by == str(lead.id):
            found.append(other.id)
    return found


def resolve_lead_id(store: LedgerStore, workspace: str, lead_key: str) -> UUID:
    """The id of the lead holding the history of the person `lead_key` (an E.164 phone,
    `wa_user:<BSUID>`, `wa_username:@name`) names: what every lookup answers."""
    lead_id = current_lead_id(store, workspace, lead_key)
    lead = stored_lead(store, lead_id)
    return lead_id if lead is None else holder_of(store, lead).id


@dataclass(frozen=True)
class SenderLeads:
    """Where a sender's facts go, and the links to record with them (same request)."""

    record_on: str  # the lead key of the lead holding their history: the commands' `phone`
    links: tuple[LinkIdentity, ...]


def resolve_sender(
    store: LedgerStore,
    workspace: str,
    identities: Sequence[Identity],
    said: Said,
    reason: str = "seen_together",
) -> SenderLeads | None:
    """Which lead a sender's facts belong on, given every id one delivery names for them
    (`domain.whatsapp_identity.sender_identities`: the phone first), and the
    `LinkIdentity` commands that tie the others to it. None when no id is given.

    The holder is the lead that already holds the history of the first id that has one;
    with none, the first id's lead (which the write creates). Each other id not linked yet
    gets a link on the holder (`held_by` None) and one on its own lead (created if need be:
    its id stays uuid5(workspace, key), so it stays identity by construction) naming the
    holder. An id whose lead holds a history of its own is merged: its lead names the
    holder, and the views show both histories as one lead. Record the links in the same
    request as the facts; a redelivery resolves to the same holder and appends nothing.
    For a number change pass the old ids first and the new phone last, reason
    "number_changed" (`resolve_number_change`).
    """
    if not identities:
        return None
    leads: dict[UUID, Lead] = {}
    holders: list[Lead | None] = []
    for identity in identities:
        lead = stored_lead(store, current_lead_id(store, workspace, identity.lead_key))
        if lead is not None:
            leads[lead.id] = lead
            lead = holder_of(store, lead, leads)
        holders.append(lead)
    holder = next((h for h in holders if h is not None), None)
    if holder is None or holder.phone is None:
        record_on, holder_id = identities[0].lead_key, None
    else:
        record_on, holder_id = holder.phone, holder.id
    if holder_id is None:
        holder_id = current_lead_id(store, workspace, record_on)
    kind, value = key_identity(record_on)
    links: list[LinkIdentity] = []
    for identity, found in zip(identities, holders, strict=True):
        if identity.lead_key == record_on or (found is not None and found.id == holder_id):
            continue
        # The other id's history stays where it is (its holder, or its new lead, points
        # here); the holder learns its facts, so their redeliveries dedup here.
        merged = None if found is None else sorted(found.facts) or None
        links.append(_link(record_on, said, identity.value, identity.kind, reason, None, merged))
        other = identity.lead_key if found is None or found.phone is None else found.phone
        links.append(_link(other, said, value, kind, reason, str(holder_id)))
    return SenderLeads(record_on, tuple(links))


def resolve_number_change(
    store: LedgerStore,
    workspace: str,
    sender: Sequence[Identity],
    new_phone: Identity,
    said: Said,
) -> SenderLeads | None:
    """A `system` message saying the sender's number changed to `new_phone`: the new
    number is linked to the lead holding the sender's history (reason "number_changed")."""
    return resolve_sender(store, workspace, [*sender, new_phone], said, "number_changed")


def _link(
    lead_key: str,
    said: Said,
    identity: str,
    kind: str,
    reason: str,
    held_by: str | None,
    merged_facts: list[str] | None = None,
) -> LinkIdentity:
    return LinkIdentity(
        merged_facts=merged_facts,
        phone=lead_key,
        said=said,
        identity=identity,
        kind=kind,
        reason=reason,
        held_by=held_by,
    )
