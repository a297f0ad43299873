"""The topics events are stored under, derived from their classes, never typed out.

eventsourcing names an event's class in the stored row (`get_topic`: `module:qualname`),
so a string written by hand here would silently stop matching when a class moves. Everything
that reads topics (the projections' filter, the sealing mapper) asks this module, which
resolves a stored topic to its class (`resolve_topic`, which honours `register_topic` for
a moved class, docs/evolution.md) and answers by class.
"""

from __future__ import annotations

from functools import cache
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic, resolve_topic

from domain.delivery import UnhandledDelivery
from domain.lead import Lead

# Every event class a Lead stores (tests/unit/test_topics.py pins their topics).
LEAD_EVENTS: tuple[type[Lead.Event], ...] = (
    Lead.Registered,
    Lead.InboundMessageReceived,
    Lead.OutboundMessageSent,
    Lead.MessageStatusChanged,
    Lead.ConversationChanged,
    Lead.ContactNameReported,
    Lead.SarahPhaseReported,
    Lead.StatusRequested,
    Lead.StatusHoldReleased,
    Lead.NoteAdded,
    Lead.PersonalDataErased,
    Lead.ContactImported,
    Lead.IdentityLinked,
)
DELIVERY_EVENTS: tuple[type[UnhandledDelivery.Event], ...] = (
    UnhandledDelivery.Kept,
    UnhandledDelivery.Reingested,
)
# A Lead snapshot names the aggregate's class, not an event's.
LEAD_TOPIC = get_topic(Lead)


def topic_of(event_class: type[DomainEventProtocol[UUID]]) -> str:
    """The topic new events of this class are stored under."""
    return get_topic(event_class)


@cache
def lead_event_name(topic: str) -> str | None:
    """The Lead event class's name a stored topic resolves to, or None for any other row."""
    return _name_if(topic, Lead.Event)


@cache
def delivery_event_name(topic: str) -> str | None:
    """The UnhandledDelivery event class's name a stored topic resolves to, else None."""
    return _name_if(topic, UnhandledDelivery.Event)


def is_lead_event(topic: str) -> bool:
    return lead_event_name(topic) is not None


def _name_if(topic: str, base: type) -> str | None:
    # A topic that resolves to nothing raises (TopicError): a class moved without
    # `register_topic` must stop the projection loudly, never drop its events quietly.
    found = resolve_topic(topic)
    return found.__name__ if isinstance(found, type) and issubclass(found, base) else None
