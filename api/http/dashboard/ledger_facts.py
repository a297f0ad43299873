"""What the lead page needs from the lead's own events — each value's provenance and the
timeline entries no view keeps — read once per lead version and kept for the next request
(the live updates and other people re-read the same page).

Kept: only what these derive (event kinds, positions, sources, actors, times, Sarah's phase
and score, an erasure's reason), never the lead's personal data, so an erasure leaves
nothing behind here; and at most CACHED versions of leads, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from api.http.dashboard.provenance import Said, provenance
from api.http.dashboard.timeline import Entry, event_entries
from service_layer.service import LeadLedgerService

CACHED = 256


@dataclass(frozen=True)
class LedgerFacts:
    said: dict[str, Said]
    entries: list[Entry]
    event_count: int


Key = tuple[str, UUID, int, datetime | None]
_cache: OrderedDict[Key, LedgerFacts] = OrderedDict()
_lock = threading.Lock()


def ledger_facts(
    service: LeadLedgerService, workspace: str, lead_id: UUID, version: int, as_of: datetime | None
) -> LedgerFacts:
    """Runs in a worker thread (it may read the ledger)."""
    key = (workspace, lead_id, version, as_of)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    events = service.lead_events(workspace, lead_id)
    shown = [e for e in events if as_of is None or e.timestamp <= as_of]
    facts = LedgerFacts(provenance(shown), event_entries(shown), len(shown))
    with _lock:
        _cache[key] = facts
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
    return facts
