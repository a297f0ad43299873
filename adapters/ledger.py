"""The write service: apply commands to leads and save them in one transaction.

Optimistic-concurrency conflicts (another request appended to the same lead first) are
retried on fresh state, so they never surface as errors and never lose a fact; dedup
lives in the aggregate, so a retry of an already-recorded fact appends nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from adapters.store import LedgerStore
from domain.commands import LeadCommand
from domain.identity import lead_id_for
from domain.lead import Lead


class LeadNotFoundError(LookupError):
    """No lead with this id in this workspace (another workspace's lead is 'not found' too)."""


class LedgerBusyError(RuntimeError):
    """Conflicts persisted past every retry (pathological contention)."""


@dataclass(frozen=True)
class RecordedFact:
    lead_id: UUID
    fact: str
    appended: bool


@dataclass(frozen=True)
class Recording:
    facts: list[RecordedFact]
    new_leads: list[UUID]
    last_notification_id: int | None = None  # the ledger position of the last event written

    @property
    def appended(self) -> int:
        return sum(f.appended for f in self.facts)

    @property
    def duplicates(self) -> int:
        return len(self.facts) - self.appended


class Ledger:
    def __init__(self, store: LedgerStore, max_attempts: int = 50) -> None:
        self.store = store
        self.max_attempts = max_attempts
        # Called after each committed recording (metrics); never before the commit.
        self.listeners: list[Callable[[Recording], None]] = []

    def record(self, workspace: str, commands: Sequence[LeadCommand]) -> Recording:
        """Append each command's fact (once) on its lead; all leads in one transaction."""
        for attempt in range(self.max_attempts):
            try:
                recording = self._record_once(workspace, commands)
            except IntegrityError:
                # Someone else appended to one of these leads: reload and re-apply.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            for listener in self.listeners:
                listener(recording)
            return recording
        raise LedgerBusyError("too many concurrent writers on the same lead")

    def record_on_lead(
        self, workspace: str, lead_id: UUID, build: Callable[[str], LeadCommand]
    ) -> Recording:
        """Record a command addressed by lead id (status, notes) after a workspace check."""
        lead = self.get_lead(workspace, lead_id)
        return self.record(workspace, [build(lead.phone)])

    def get_lead(self, workspace: str, lead_id: UUID) -> Lead:
        try:
            lead: object = self.store.repository.get(lead_id)
        except AggregateNotFoundError:
            raise LeadNotFoundError(str(lead_id)) from None
        if not isinstance(lead, Lead) or lead.workspace != workspace:
            raise LeadNotFoundError(str(lead_id))
        return lead

    def find_lead(self, workspace: str, phone_e164: str) -> Lead | None:
        try:
            return self.get_lead(workspace, lead_id_for(workspace, phone_e164))
        except LeadNotFoundError:
            return None

    def _record_once(self, workspace: str, commands: Sequence[LeadCommand]) -> Recording:
        leads: dict[UUID, Lead] = {}
        new_leads: list[UUID] = []
        facts: list[RecordedFact] = []
        for command in commands:
            lead_id = lead_id_for(workspace, command.phone)
            lead = leads.get(lead_id)
            if lead is None:
                lead = self._load_or_register(workspace, command, lead_id, new_leads)
                leads[lead_id] = lead
            facts.append(RecordedFact(lead_id, command.fact, command.apply(lead)))
        touched = [lead for lead in leads.values() if lead.pending_events]
        last: int | None = None
        if touched:
            recordings = self.store.save(*touched)
            last = max((r.notification.id for r in recordings), default=None)
        return Recording(facts=facts, new_leads=new_leads, last_notification_id=last)

    def _load_or_register(
        self, workspace: str, command: LeadCommand, lead_id: UUID, new_leads: list[UUID]
    ) -> Lead:
        try:
            lead: object = self.store.repository.get(lead_id)
            assert isinstance(lead, Lead)
            return lead
        except AggregateNotFoundError:
            new_leads.append(lead_id)
            said = command.said
            return Lead(
                workspace=workspace,
                phone=command.phone,
                source=said.source,
                actor=said.actor,
                received_at=said.received_at,
                occurred_at=said.occurred_at,
                idempotency_key=said.idempotency_key,
            )
