"""Stored topics are data: every event class must keep resolving from the strings the
ledger already holds, and new events must be stored under them too."""

from __future__ import annotations

import pytest
from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

from adapters.eventstore.topics import LEAD_TOPIC, delivery_event_name, lead_event_name
from domain.delivery import UnhandledDelivery
from domain.lead import Lead

# The literal strings in stores today (tests/fixtures/events_v1/events.json holds them too).
# A class moved or renamed without `register_topic` (docs/evolution.md) fails here.
STORED_TOPICS = {
    "domain.lead:Lead.Registered": Lead.Registered,
    "domain.lead:Lead.InboundMessageReceived": Lead.InboundMessageReceived,
    "domain.lead:Lead.OutboundMessageSent": Lead.OutboundMessageSent,
    "domain.lead:Lead.MessageStatusChanged": Lead.MessageStatusChanged,
    "domain.lead:Lead.ConversationChanged": Lead.ConversationChanged,
    "domain.lead:Lead.ContactNameReported": Lead.ContactNameReported,
    "domain.lead:Lead.SarahPhaseReported": Lead.SarahPhaseReported,
    "domain.lead:Lead.StatusRequested": Lead.StatusRequested,
    "domain.lead:Lead.StatusHoldReleased": Lead.StatusHoldReleased,
    "domain.lead:Lead.NoteAdded": Lead.NoteAdded,
    "domain.lead:Lead.PersonalDataErased": Lead.PersonalDataErased,
    "domain.lead:Lead.ContactImported": Lead.ContactImported,
    "domain.lead:Lead.IdentityLinked": Lead.IdentityLinked,
    "domain.delivery:UnhandledDelivery.Kept": UnhandledDelivery.Kept,
    "domain.delivery:UnhandledDelivery.Reingested": UnhandledDelivery.Reingested,
}


@pytest.mark.parametrize("topic", sorted(STORED_TOPICS))
def test_each_stored_topic_resolves_to_its_class_and_new_events_keep_it(topic: str) -> None:
    cls = STORED_TOPICS[topic]
    assert resolve_topic(topic) is cls
    assert get_topic(cls) == topic


def test_the_pinned_topics_cover_every_event_class_the_aggregates_declare() -> None:
    declared = {
        value
        for aggregate in (Lead, UnhandledDelivery)
        for value in vars(aggregate).values()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and value not in (aggregate.Event, aggregate.Created)
    }
    assert declared == set(STORED_TOPICS.values())


def test_the_readers_tell_lead_events_from_deliveries_and_snapshots_by_class() -> None:
    assert lead_event_name("domain.lead:Lead.NoteAdded") == "NoteAdded"
    assert lead_event_name("domain.delivery:UnhandledDelivery.Kept") is None
    assert lead_event_name(LEAD_TOPIC) is None  # a snapshot names the aggregate
    assert delivery_event_name("domain.delivery:UnhandledDelivery.Kept") == "Kept"
    assert delivery_event_name("domain.lead:Lead.NoteAdded") is None


def test_a_topic_that_resolves_to_nothing_stops_the_reader_instead_of_being_skipped() -> None:
    from eventsourcing.utils import TopicError

    with pytest.raises(TopicError):
        lead_event_name("domain.lead:Lead.MovedAwayWithoutRegisterTopic")
