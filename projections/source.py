"""The ledger as the projections read it: lead events in notification order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from eventsourcing.persistence import Notification

from adapters.store import LedgerStore
from domain.view import LedgerEvent

LEAD_TOPIC_PREFIX = "domain.lead:Lead."
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def to_ledger_event(event: Any, notification_id: int | None = None) -> LedgerEvent:
    data = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return LedgerEvent(
        lead_id=event.originator_id,
        position=event.originator_version,
        notification_id=notification_id,
        type=type(event).__name__,
        recorded_at=event.timestamp,
        data=data,
    )


def read_page(store: LedgerStore, after: int, limit: int) -> tuple[list[LedgerEvent], int]:
    """Lead events after notification `after`; returns them and the last id read.

    The last id moves past non-lead notifications too, so they are never read again.
    """
    notifications = store.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    return _lead_events(store, notifications), (notifications[-1].id if notifications else after)


def _lead_events(store: LedgerStore, notifications: Iterable[Notification]) -> list[LedgerEvent]:
    return [
        to_ledger_event(store.mapper.to_domain_event(n), n.id)
        for n in notifications
        if n.topic.startswith(LEAD_TOPIC_PREFIX)
    ]


def lead_history(store: LedgerStore, lead_id: Any) -> Iterator[LedgerEvent]:
    """One lead's events from its own sequence (used by as_of replays)."""
    for event in store.events.get(lead_id):
        yield to_ledger_event(event)


def head(store: LedgerStore) -> int:
    return int(store.recorder.max_notification_id() or 0)
