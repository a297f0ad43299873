"""One stored lead event as the read side gets it: where it sits in the ledger, and the
typed event itself (`fact`), which the reducer matches on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any
from uuid import UUID

from domain import lead_events

LeadEvent = lead_events.Registered | lead_events.LeadFact

# The stored shapes by class name (Lead adopts them as `Lead.<Name>`, subclasses of these).
EVENT_CLASSES: Mapping[str, type[LeadEvent]] = {
    cls.__name__: cls
    for cls in (
        lead_events.Registered,
        lead_events.InboundMessageReceived,
        lead_events.OutboundMessageSent,
        lead_events.MessageStatusChanged,
        lead_events.ConversationChanged,
        lead_events.ContactNameReported,
        lead_events.SarahPhaseReported,
        lead_events.StatusRequested,
        lead_events.StatusHoldReleased,
        lead_events.NoteAdded,
        lead_events.PersonalDataErased,
        lead_events.ContactImported,
        lead_events.IdentityLinked,
    )
}


@dataclass(frozen=True)
class LedgerEvent:
    """One stored lead event: `data` holds its attributes as stored (the API and CLI show
    them), `fact` the typed event (the store's own object when read from the store).

    Times in `data` may be datetimes or ISO strings (as a JSON column returns them)."""

    lead_id: UUID
    position: int
    notification_id: int | None
    type: str
    recorded_at: datetime
    data: Mapping[str, Any]

    @cached_property
    def fact(self) -> LeadEvent | None:
        """The typed event; None for a type this code does not know. Built from `data`
        when the event was made from plain values (tests): a missing field reads None."""
        cls = EVENT_CLASSES.get(self.type)
        if cls is None:
            return None
        made = object.__new__(cls)
        made.__dict__.update(dict.fromkeys(_field_names(cls)), **self.data)
        return made

    @cached_property  # the reducer and the change feed ask several times per event
    def at(self) -> datetime:
        """When the source says it happened: occurred_at, else received_at, else stored."""
        for key in ("occurred_at", "received_at"):
            when = as_time(self.data.get(key))
            if when is not None:
                return when
        return self.recorded_at


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


@cache
def _field_names(cls: type[LeadEvent]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))
