"""The ledger as the projections read it: lead events in notification order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters.eventstore.store import LedgerStore
from adapters.eventstore.topics import is_lead_event
from domain.reducer import LedgerEvent
from projections.partition_read import select_partition
from projections.tracking import WHOLE, Partition

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def to_ledger_event(event: Any, notification_id: int | None = None) -> LedgerEvent:
    data = dict(vars(event))
    for key in _ENVELOPE:
        data.pop(key, None)
    # Built without `__init__` (a frozen dataclass's is slow; rebuilds make one per event).
    made = object.__new__(LedgerEvent)
    made.__dict__.update(
        lead_id=event.originator_id,
        position=event.originator_version,
        notification_id=notification_id,
        type=type(event).__name__,
        recorded_at=event.timestamp,
        data=data,
        fact=event,  # the typed event the reducer matches on (LedgerEvent.fact, cached)
    )
    return made


def read_page(
    store: LedgerStore,
    after: int,
    limit: int,
    partition: Partition = WHOLE,
    until: int | None = None,
) -> tuple[list[LedgerEvent], int]:
    """Lead events of `partition` after notification `after` (up to `until`, if given);
    returns them and the last id read.

    The last id moves past non-lead notifications and other partitions' events too, so
    they are never read again by this partition. Only this partition's events are decoded.
    """
    recorder = store.recorder
    if partition.count > 1 and isinstance(recorder, PostgresApplicationRecorder):
        found, last = select_partition(recorder, after, limit, partition, until)
        return _lead_events(store, found), last
    notifications = select_after(store, after, limit)
    last = notifications[-1].id if notifications else after
    if until is not None and last > until:
        notifications = [n for n in notifications if n.id <= until]
        last = max(after, until)
    if partition.count > 1:
        notifications = [n for n in notifications if partition.owns(n.originator_id)]
    return _lead_events(store, notifications), last


def select_after(store: LedgerStore, after: int, limit: int) -> Sequence[Notification]:
    """`recorder.select_notifications(after, limit, inclusive_of_start=False)`; on SQLite
    the same rows read directly (the recorder's per-row dataclass `__init__` and UUID
    parsing cost more than the read itself)."""
    recorder = store.recorder
    if not isinstance(recorder, SQLiteApplicationRecorder):
        return recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
    ids: dict[str, Any] = {}
    convert = recorder.convert_originator_id
    found: list[Notification] = []
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {recorder.events_table_name} WHERE rowid>? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        for rowid, originator, version, topic, state in cursor.fetchall():
            originator_id = ids.get(originator)
            if originator_id is None:
                originator_id = ids[originator] = convert(originator)
            made = object.__new__(Notification)
            made.__dict__.update(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=state,
                id=rowid,
            )
            found.append(made)
    return found


def _lead_events(store: LedgerStore, notifications: Sequence[Notification]) -> list[LedgerEvent]:
    # One key-store query for the page's leads, not one per lead (adapters/keys/key_store.py).
    store.keys.prefetch(n.originator_id for n in notifications if is_lead_event(n.topic))
    return [
        to_ledger_event(store.mapper.to_domain_event(n), n.id)
        for n in notifications
        if is_lead_event(n.topic)
    ]


HISTORY_PAGE = 1000


def lead_history(
    store: LedgerStore, lead_id: Any, after: int = 0, page_size: int = HISTORY_PAGE
) -> Iterator[LedgerEvent]:
    """One lead's events from its own sequence, after position `after` (as_of replays, the
    CLI's history), read a page at a time and decoded one by one as taken: a long
    history is never held whole, and a reader that stops early (as_of) decodes no
    further (decrypting and decoding is most of a replay's cost)."""
    while True:
        taken = 0
        for event in store.events.get(lead_id, gt=after or None, limit=page_size):
            taken += 1
            after = event.originator_version
            yield to_ledger_event(event)
        if taken < page_size:
            return


def head(store: LedgerStore) -> int:
    return int(store.recorder.max_notification_id() or 0)
