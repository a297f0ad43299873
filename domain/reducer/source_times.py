"""The source's time of each value the read side merges from several sources.

Names, scores, temperatures, Sarah's phase and extracted fields and the conversation state
can be said by Kapso or WhatsApp, by Sarah and by a legacy import, in any arrival order. Each
value is kept with the time its source gave (`LedgerEvent.at`: occurred_at, else received_at)
in the view's `source_times`, and an older statement never replaces a newer one; at equal
times the later arrival wins, as for statuses (domain/policy.py). So a view is the same
whatever order its facts arrived in (docs/read-models.md, "Rules").

Times are stored as fixed-width UTC ISO text, so texts compare as the times do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.merge import newest
from domain.reducer.contact_view import ContactView, replace
from domain.reducer.ledger_event import LedgerEvent

# The keys an erasure keeps: their times come from fields that stay in clear (phase,
# conversation change), so a rebuild from the shredded events finds them too.
CLEAR_KEYS = ("chat_phase", "conversation.opened", "conversation.closed", "conversation.handover")


def stamp(at: datetime) -> str:
    """`at` as fixed-width UTC text (microseconds always written)."""
    try:
        utc = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except OverflowError:  # within hours of datetime's range: its end orders the same
        utc = (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)
    return utc.isoformat(timespec="microseconds")


def speaks(times: Mapping[str, Any], key: str, at: str) -> bool:
    """Whether a statement at `at` about `key` replaces the value held: not older."""
    return at >= newest(times.get(key))


def said(times: Mapping[str, Any], key: str, at: str) -> dict[str, Any]:
    """`times` with `key` said at `at`."""
    return {**times, key: at}


def latest_of(times: Mapping[str, Any], key: str, at: str) -> dict[str, Any]:
    """`times` with `key` at the later of its time and `at` (events that only add up)."""
    return {**times, key: max(at, newest(times.get(key)))}


def after_erasure(times: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in times.items() if k in CLEAR_KEYS}


def newer_values(view: ContactView, values: Mapping[str, Any], event: LedgerEvent) -> ContactView:
    """The view with each non-None value of `values` the event says no older than the one
    held; the others say nothing."""
    at, times = stamp(event.at), view.source_times
    newer: dict[str, Any] = {}
    for key, value in values.items():
        if value is not None and speaks(times, key, at):
            newer[key], times = value, said(times, key, at)
    return replace(view, **newer, source_times=times) if newer else view
