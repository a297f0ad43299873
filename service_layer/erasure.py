"""Erase a lead's personal data: record who, when and why, then destroy the lead's key.

Order matters: the `PersonalDataErased` event is committed first, the key destroyed after.
A process that dies in between leaves an erased lead with a live key: running the erasure
again (or the next write for that phone, service_layer/lead_resolution.py) destroys it.
Snapshots stay where they are: sealed, they shred with the key like the events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import phonenumbers
from eventsourcing.utils import get_topic

from adapters.eventstore.store import LedgerStore
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.lead import Lead
from domain.principal import Principal
from domain.values import Source
from service_layer.errors import ErasureTargetNotFoundError, LeadNotFoundError
from service_layer.lead_resolution import linked_lead_ids
from service_layer.ledger import Ledger

ERASED_EVENT = "PersonalDataErased"
_SEPARATORS = re.compile(r"[\s\-.()/]")  # inside phone numbers as people write them

__all__ = ["Erasure", "ErasureTargetNotFoundError", "erase_lead", "reapply_erasures"]


@dataclass(frozen=True)
class Erasure:
    lead_id: UUID
    workspace: str
    erased_at: datetime
    erased_by: str
    reason: str
    position: int
    appended: bool  # False: the lead was already erased (this is the earlier erasure)
    notification_id: int | None = None
    deliveries_erased: int = 0  # unhandled deliveries that mentioned the phone


def erase_lead(
    ledger: Ledger,
    workspace: str,
    lead_id: UUID,
    actor: str,
    reason: str,
    phone_e164: str | None = None,
    principal: Principal | None = None,
) -> Erasure:
    """Erase the lead; also shred the unhandled deliveries of the workspace that mention its
    phone (`phone_e164` names it when the lead is already erased, e.g. a re-run)."""
    store = ledger.store
    said = Said(Source.HUMAN, actor, datetime.now(UTC), principal=principal)
    try:
        lead = ledger.get_lead(workspace, lead_id)
        # The phone, read before the erasure forgets it (a lead's phone never changes).
        phones = [lead.phone or phone_e164 or ""]
        # The person's other ids have leads of their own pointing here: they go too, first,
        # so that this lead's erasure is the last event the views must reach.
        for other in linked_lead_ids(store, lead):
            phones.append(ledger.get_lead(workspace, other).phone or "")
            ledger.erase(workspace, other, said, reason)
            store.keys.destroy(other)
            store.forget_cached(other)
        # Written by the ledger's writer, under its retry policy (a write that lands first
        # makes it erase the fresh state).
        recording = ledger.erase(workspace, lead_id, said, reason)
    except LeadNotFoundError:
        raise ErasureTargetNotFoundError(str(lead_id)) from None
    store.keys.destroy(lead_id)  # idempotent: also completes an interrupted erasure
    store.forget_cached(lead_id)
    # Lead keys that are no phone (a BSUID, a username) are not searched for.
    shredded = sum(
        shred_deliveries_mentioning(store, workspace, p) for p in phones if p.startswith("+")
    )
    return _recorded_erasure(
        store, workspace, lead_id, recording.appended > 0, recording.last_notification_id, shredded
    )


def shred_deliveries_mentioning(
    store: LedgerStore, workspace: str, phone_e164: str, page: int = 1000
) -> int:
    """Destroy the key of each unhandled delivery of the workspace whose raw headers or
    body mention the phone (its national number, in any usual spelling). Such a delivery
    may hold other people's data too: it goes as a whole (docs/erasure.md)."""
    national = str(phonenumbers.parse(phone_e164).national_number)
    topic = f"{get_topic(UnhandledDelivery)}.Kept"
    shredded, after = 0, 0
    while True:
        found = store.recorder.select_notifications(
            start=after, limit=page, topics=[topic], inclusive_of_start=False
        )
        for notification in found:
            kept = vars(store.mapper.to_domain_event(notification))
            raw = f"{kept.get('headers') or ''}{kept.get('body') or ''}"
            if kept.get("workspace") == workspace and national in _SEPARATORS.sub("", raw):
                store.keys.destroy(UUID(str(notification.originator_id)))
                shredded += 1
        if len(found) < page:
            return shredded
        after = found[-1].id


def _recorded_erasure(
    store: LedgerStore,
    workspace: str,
    lead_id: UUID,
    appended: bool,
    nid: int | None,
    shredded: int,
) -> Erasure:
    """The lead's erasure event, as stored (its fields are all in clear)."""
    for event in store.events.get(lead_id, desc=True):
        if type(event).__name__ == ERASED_EVENT:
            state = vars(event)
            return Erasure(
                lead_id=lead_id,
                workspace=workspace,
                erased_at=state["received_at"],
                erased_by=state["actor"],
                reason=state["reason"],
                position=int(event.originator_version),
                appended=appended,
                notification_id=nid,
                deliveries_erased=shredded,
            )
    raise ErasureTargetNotFoundError(str(lead_id))  # unreachable once erase_personal_data ran


def reapply_erasures(store: LedgerStore, page: int = 1000) -> int:
    """Destroy the key of every lead the ledger says was erased (after restoring an old
    key backup, or to finish interrupted erasures); returns how many erasures it read."""
    topic = f"{get_topic(Lead)}.{ERASED_EVENT}"
    seen, after = 0, 0
    while True:
        found = store.recorder.select_notifications(
            start=after, limit=page, topics=[topic], inclusive_of_start=False
        )
        for notification in found:
            lead_id = UUID(str(notification.originator_id))
            store.keys.destroy(lead_id)
            store.forget_cached(lead_id)
        seen += len(found)
        if len(found) < page:
            return seen
        after = found[-1].id
