"""The Lead events that also keep state later commands need (a repeat told from a new
fact): their `apply` beyond the shared dedup bookkeeping. `domain.lead.Lead` adopts them, so
they are stored as `domain.lead:Lead.<Name>` like every other Lead event."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Protocol, cast

from domain import lead_events as events
from domain.legacy import LegacyContactRow, fingerprints_after


class LeadState(Protocol):
    """What these events keep on the aggregate."""

    version: int
    facts: dict[str, int]
    phone: str | None
    held_by: str | None
    erased: bool
    reported_name: str | None
    reported_name_at: datetime | None
    last_sarah_report: str | None
    imported: dict[str, str] | None

    def knows(self, fact_key: str | None) -> bool: ...


class IdentityLinked(events.IdentityLinked):
    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        lead = cast(LeadState, aggregate)
        if self.held_by is not None:
            lead.held_by = self.held_by
        for key in self.merged_facts or ():
            lead.facts.setdefault(key, lead.version)


class ContactNameReported(events.ContactNameReported):
    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        lead = cast(LeadState, aggregate)
        at = self.occurred_at or self.received_at
        if lead.reported_name_at is None or at is None or at >= lead.reported_name_at:
            lead.reported_name, lead.reported_name_at = self.name, at


def is_new_name(lead: LeadState, name: str, occurred_at: datetime | None, at: datetime) -> bool:
    """Whether a contact name report (source time `occurred_at`; `at`: that, else its
    receipt) says something the ledger does not hold yet: not a redelivery of a recorded
    report, not older than the newest name recorded (it could not change the name shown:
    docs/read-models.md), not the same spelling again."""
    if not name or lead.knows(events.name_fact(name, occurred_at)):
        return False
    newest = lead.reported_name_at
    if newest is not None and at < newest:
        return False
    return name != lead.reported_name


class SarahPhaseReported(events.SarahPhaseReported):
    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        cast(LeadState, aggregate).last_sarah_report = report_fingerprint(
            self.chat_phase,
            self.extracted_data,
            self.lead_score,
            self.lead_temperature,
            self.outcome,
        )


class PersonalDataErased(events.PersonalDataErased):
    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        lead = cast(LeadState, aggregate)
        lead.erased = True
        lead.phone = lead.reported_name = lead.last_sarah_report = None
        lead.reported_name_at = None


class ContactImported(events.ContactImported):
    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        lead = cast(LeadState, aggregate)
        row = LegacyContactRow(
            self.legacy_id,
            name=self.name,
            legacy_status=self.legacy_status,
            lead_score=self.lead_score,
            metadata=self.metadata,
        )
        lead.imported = fingerprints_after(lead.imported, row)


def report_fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
