"""Which event last reported each contact-card value: source, actor, time and position.

Derived from the lead's own events. The card shows the view's value (what the merge
policy concluded); this says who last *said* it — usually the same event, but a
lower-priority report that the policy ignored is still named, as "last reported by".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Said:
    event: str
    position: int
    source: str
    actor: str
    at: datetime


def _fields(event: Any) -> Iterable[str]:
    kind = type(event).__name__
    if kind == "Registered":
        yield "phone"
    elif kind == "ContactNameReported":
        yield "name"
    elif kind == "SarahPhaseReported":
        yield "chat_phase"
        if event.lead_score is not None:
            yield "lead_score"
        if event.lead_temperature is not None:
            yield "lead_temperature"
        for key, value in (event.extracted_data or {}).items():
            if value not in (None, "", []):
                yield "sarah_name" if key == "name" else key
    elif kind == "InboundMessageReceived" and event.referral:
        yield "last_referral"
    elif kind == "ContactImported":
        yield from event.changed or ()


def provenance(events: Iterable[Any]) -> dict[str, Said]:
    """Field name → the latest event that reported it; an erasure blanks everything."""
    found: dict[str, Said] = {}
    for event in events:
        kind = type(event).__name__
        said = Said(
            kind,
            event.originator_version,
            getattr(event, "source", "") or "",
            getattr(event, "actor", "") or "",
            getattr(event, "received_at", None) or event.timestamp,
        )
        if kind == "PersonalDataErased":
            found = {"erased": said}
            continue
        for field in _fields(event):
            if field == "last_referral" and "first_referral" not in found:
                found["first_referral"] = said
            found[field] = said
    return found
