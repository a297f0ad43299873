"""One transaction's worth of write requests: each lead loaded once, saved once.

Requests are applied in arrival order to the same in-memory aggregates, so a fact two
requests of one batch both carry is appended once (the second sees it as a duplicate).
Each request keeps its own facts, new leads and the events it wrote, so its `Recording`
is exactly what it would have been had it been written alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from adapters.eventstore.lead_existence import saved_leads
from adapters.eventstore.lead_loading import load_leads
from adapters.eventstore.store import LedgerStore
from domain.commands import LeadCommand
from domain.identity import lead_id_for
from domain.identity_links import LinkIdentity
from domain.lead import Lead
from service_layer.lead_resolution import (
    current_lead_id,
    holder_of,
    refuse_if_erased,
    register_lead,
)

EventKey = tuple[UUID, int]  # (lead id, version): one event
# Existing leads in a batch from which one events query beats a repository load each
# (a snapshot and an events query per lead): re-imports, bursts of replies.
BULK_LOAD_FROM = 16


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


@dataclass(frozen=True)
class WriteRequest:
    """What one caller asks: these commands, in this workspace, in one transaction."""

    workspace: str
    commands: tuple[LeadCommand, ...]


@dataclass
class _Applied:
    facts: list[RecordedFact] = field(default_factory=list)
    new_leads: list[UUID] = field(default_factory=list)
    written: list[EventKey] = field(default_factory=list)

    def recording(self, positions: dict[EventKey, int]) -> Recording:
        last = max((positions[key] for key in self.written), default=None)
        return Recording(self.facts, self.new_leads, last)


class LeadBatch:
    """Aggregates loaded for one transaction. Discard it (never save it) once an apply
    raised: that aggregate may hold half a command's events."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.leads: dict[UUID, Lead] = {}
        self.unsaved: set[UUID] = set()  # leads known to have no stored events yet
        self.preloaded: dict[UUID, Lead] = {}  # existing leads loaded in bulk
        self._current: dict[tuple[str, str], UUID] = {}  # (workspace, phone) -> lead id

    def record(self, requests: Sequence[WriteRequest]) -> list[Recording]:
        """Apply every request, save every touched lead in one transaction."""
        # One key-store query tells which phones' first leads are erased, instead of one
        # query per new lead while resolving (service_layer/lead_resolution.py).
        self.store.keys.prefetch(
            lead_id_for(r.workspace, c.phone) for r in requests for c in r.commands
        )
        self._probe_new_leads(requests)
        applied = [self.apply(request) for request in requests]
        positions = self.save()
        return [a.recording(positions) for a in applied]

    def apply(self, request: WriteRequest) -> _Applied:
        applied = _Applied()
        marks: dict[UUID, int] = {}  # where this request's events start, per lead
        for command in request.commands:
            lead_id = self._lead_id(request.workspace, command.phone)
            lead = self.leads.get(lead_id)
            if lead is None:
                lead = self._load_or_register(request.workspace, command, lead_id, applied)
                self.leads[lead_id] = lead
                marks.setdefault(lead_id, 0)  # a new lead's Registered is this request's
            else:
                marks.setdefault(lead_id, len(lead.pending_events))
            if lead.held_by is not None and not isinstance(command, LinkIdentity):
                # Another id of a person whose history another lead holds: facts go there.
                lead = holder_of(self.store, lead, self.leads)
                self.leads[lead.id] = lead
                marks.setdefault(lead.id, len(lead.pending_events))
            applied.facts.append(RecordedFact(lead.id, command.fact, command.apply(lead)))
        for lead_id, start in marks.items():
            pending = self.leads[lead_id].pending_events[start:]
            applied.written += [(e.originator_id, e.originator_version) for e in pending]
        return applied

    def save(self) -> dict[EventKey, int]:
        """One transaction for every lead with new events; each event's ledger position."""
        touched = [lead for lead in self.leads.values() if lead.pending_events]
        if not touched:
            return {}
        self.store.keys.ensure(lead.id for lead in touched)  # new leads' keys: one transaction
        recordings = self.store.save_leads(touched)
        return {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }

    def _probe_new_leads(self, requests: Sequence[WriteRequest]) -> None:
        wanted = {self._lead_id(r.workspace, c.phone) for r in requests for c in r.commands}
        wanted -= self.leads.keys()
        saved = saved_leads(self.store, wanted)
        if saved is not None:
            self.unsaved = wanted - saved
            cold = [i for i in saved if not self.store.is_cached(i)]  # cached: fast-forwarded
            if len(cold) >= BULK_LOAD_FROM:
                self.preloaded = load_leads(self.store, cold)

    def _lead_id(self, workspace: str, phone: str) -> UUID:
        """The phone's current lead, resolved once per batch (a tombstone that lands
        meanwhile makes the save conflict: refuse_if_erased retries on fresh state)."""
        key = (workspace, phone)
        found = self._current.get(key)
        if found is None:
            found = self._current[key] = current_lead_id(self.store, workspace, phone)
        return found

    def _load_or_register(
        self, workspace: str, command: LeadCommand, lead_id: UUID, applied: _Applied
    ) -> Lead:
        if lead_id in self.unsaved:
            applied.new_leads.append(lead_id)
            return register_lead(lead_id, workspace, command.phone, command.said)
        try:
            # The repository hands out a copy of its cached aggregate, so what is applied
            # here reaches nobody else unless it is saved.
            lead: object = self.preloaded.pop(lead_id, None)
            if lead is None:
                lead = self.store.repository.get(lead_id)
            assert isinstance(lead, Lead)
            refuse_if_erased(self.store, lead)  # erased meanwhile: retried, resolved anew
            return lead
        except AggregateNotFoundError:
            applied.new_leads.append(lead_id)
            # Under the phone's current generation's id (service_layer/lead_resolution.py).
            return register_lead(lead_id, workspace, command.phone, command.said)
