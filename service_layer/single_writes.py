"""Writes that go through the ledger's writer one at a time, under its retry policy:
an erasure (one event on one lead), a raw unhandled delivery (a new aggregate) and the
mark that a kept delivery was re-ingested.

They are not batched with command requests: an erasure must commit before its key is
destroyed, and a kept delivery's duplicate is refused by the store, not by an aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from adapters.eventstore.store import LedgerStore
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.lead import Lead
from service_layer.errors import LeadNotFoundError
from service_layer.ledger_batch import RecordedFact, Recording

ERASURE_FACT = "erasure"


@dataclass(frozen=True)
class EraseRequest:
    """Append the lead's `PersonalDataErased` (once: a repeat appends nothing)."""

    workspace: str
    lead_id: UUID
    said: Said
    reason: str


@dataclass(frozen=True)
class KeepUnhandledRequest:
    """Keep a delivery the translators do not understand, raw (its content hash is its id)."""

    delivery: UnhandledDelivery


@dataclass(frozen=True)
class MarkReingestedRequest:
    """Record that a kept delivery was translated again (`UnhandledDelivery.Reingested`):
    a fact on the delivery, which stays (nothing is deleted)."""

    delivery_id: UUID
    actor: str
    facts: list[dict[str, Any]]
    at: datetime


def load_lead(store: LedgerStore, workspace: str, lead_id: UUID) -> Lead:
    try:
        lead: object = store.repository.get(lead_id)
    except AggregateNotFoundError:
        raise LeadNotFoundError(str(lead_id)) from None
    if not isinstance(lead, Lead) or lead.workspace != workspace:
        raise LeadNotFoundError(str(lead_id))
    return lead


def write_erasure(store: LedgerStore, request: EraseRequest) -> Recording:
    """One attempt on fresh state; an IntegrityError (a write landed first) is the
    ledger's to retry."""
    lead = load_lead(store, request.workspace, request.lead_id)
    if not lead.erase_personal_data(request.said, request.reason):
        return Recording([RecordedFact(lead.id, ERASURE_FACT, False)], [])
    recordings = store.save(lead)
    last = max(r.notification.id for r in recordings)
    return Recording([RecordedFact(lead.id, ERASURE_FACT, True)], [], last)


def write_reingested(store: LedgerStore, request: MarkReingestedRequest) -> Recording:
    """One attempt on fresh state; marked already (a concurrent run): nothing to add."""
    delivery: object = store.repository.get(request.delivery_id)
    fact = f"reingested:{request.delivery_id}"
    if not isinstance(delivery, UnhandledDelivery) or delivery.reingested:
        return Recording([RecordedFact(request.delivery_id, fact, False)], [])
    delivery.mark_reingested(request.actor, request.facts, request.at)
    recordings = store.save(delivery)
    last = max(r.notification.id for r in recordings)
    return Recording([RecordedFact(delivery.id, fact, True)], [], last)


def write_unhandled(store: LedgerStore, request: KeepUnhandledRequest) -> Recording:
    delivery = request.delivery
    fact = f"unhandled:{delivery.id}"
    try:
        recordings = store.save(delivery)
    except IntegrityError:  # kept by an earlier delivery already: nothing to add
        return Recording([RecordedFact(delivery.id, fact, False)], [])
    last = max(r.notification.id for r in recordings)
    return Recording([RecordedFact(delivery.id, fact, True)], [], last)
