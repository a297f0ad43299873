"""Sarah's phase reports: her extracted data merged into the view (blanks never erase, an
older report never replaces a newer one's value), and the status her phase implies,
proposed like any other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.extracted import ExtractedData
from domain.lead_events import SarahPhaseReported
from domain.merge import is_blank, merge_said
from domain.phases import status_for_phase
from domain.policy import Policy
from domain.reducer import conversation
from domain.reducer.contact_view import ContactView, Effects, replace
from domain.reducer.ledger_event import LedgerEvent
from domain.reducer.source_times import newer_values, stamp
from domain.reducer.status import propose
from domain.reducer.values import as_text, joined_text, number, text
from domain.values import ChatPhase, Source

# View column <- Sarah's extracted_data key (`name` is hers, not the WhatsApp contact's).
EXTRACTED_COLUMNS = (
    ("sarah_name", "name"),
    ("business_type", "business_type"),
    ("domisili", "domisili"),
    ("business_duration", "business_duration"),
    ("priority", "priority"),
    ("urgency_level", "urgency_level"),
    ("closing_technique_used", "closing_technique_used"),
    ("objection_raised", "objection_raised"),
)


def sarah_phase(
    view: ContactView, event: LedgerEvent, fact: SarahPhaseReported, policy: Policy
) -> Effects:
    # v2 data (v1 events are upcast on load); merged in Sarah's keys by the reports' time.
    at = stamp(event.at)
    times = view.source_times
    said_data = ExtractedData.from_event(fact.extracted_data).said()
    extracted, extracted_times = merge_said(
        view.extracted, times.get("extracted") or {}, said_data, at
    )
    view = replace(
        view,
        extracted=extracted,
        **extracted_columns(extracted),
        source_times={**times, "extracted": extracted_times},
    )
    phase = text(fact.chat_phase)
    said_values = {
        "chat_phase": phase,
        "lead_score": number(fact.lead_score, None),
        "lead_temperature": text(fact.lead_temperature),
    }
    view = newer_values(view, said_values, event)
    if phase == ChatPhase.HANDOFF:
        view = conversation.changed(view, "handover", event.at)
    outcome = text(fact.outcome)
    target = None if phase is None else status_for_phase(phase, outcome)
    if target is None:
        return Effects(view)
    reason = f"sarah phase {phase}" + (f", outcome {outcome}" if outcome else "")
    sarah = Source.SARAH.value
    actor = text(fact.actor)
    return propose(view, event, policy, target, sarah, actor, reason, "sarah_phase", fact.principal)


def extracted_columns(extracted: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {
        column: joined_text(extracted.get(key)) for column, key in EXTRACTED_COLUMNS
    }
    points = extracted.get("pain_points")  # a list: ExtractedData types Sarah's text
    items = [as_text(p) for p in points if not is_blank(p)] if isinstance(points, list) else []
    columns["pain_points"] = items or None
    return columns
