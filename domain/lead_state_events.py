"""The Lead events that also keep state later commands need (a repeat told from a new
fact): their `apply` beyond the shared dedup bookkeeping. `domain.lead.Lead` adopts them, so
they are stored as `domain.lead:Lead.<Name>` like every other Lead event."""

from __future__ import annotations

import hashlib
import json
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
    last_sarah_report: str | None
    imported: dict[str, str] | None


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
        cast(LeadState, aggregate).reported_name = self.name


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
