"""The counts by status on top of the leads list, read again only when the views moved:
they are a function of the views' generation and position (read in the same snapshot),
so every page view and live refresh in between shares one read."""

from __future__ import annotations

import threading
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection

from projections.status_counts import status_counts
from projections.tables import ViewTables
from projections.tracking import positions
from service_layer.service import LeadLedgerService

_lock = threading.Lock()
Known = dict[str, tuple[tuple[int, tuple[int, ...]], dict[str, Any]]]  # workspace -> (at, counts)
_known: WeakKeyDictionary[LeadLedgerService, Known] = WeakKeyDictionary()  # per ledger


def counts_by_status(service: LeadLedgerService, workspace: str) -> dict[str, Any]:
    """{"total", "by_status"} of the workspace's leads, at the views' current position."""

    def read(conn: Connection, t: ViewTables) -> dict[str, Any]:
        at = (t.generation, positions(conn, t))  # every partition's (tracking.py)
        with _lock:
            known = _known.setdefault(service, {}).get(workspace)
        if known is not None and known[0] == at:
            return known[1]
        total, by_status = status_counts(conn, t, workspace)
        counts = {"total": total, "by_status": by_status}
        with _lock:
            _known.setdefault(service, {})[workspace] = (at, counts)
        return counts

    return service.read_views(read)
