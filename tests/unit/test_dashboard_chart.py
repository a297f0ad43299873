"""Leads by status over time, walked back from today's counts (api/http/dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from api.http.dashboard.status_chart import status_series, svg_chart
from projections.as_of import AuditEntry

UNTIL = datetime(2026, 3, 10, 12, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=3)


def change(
    lead: UUID, at: datetime, from_status: str | None, to: str, outcome: str = "applied"
) -> AuditEntry:
    return AuditEntry(
        "status", lead, None, 1, at, "human", "x",
        from_status=from_status, to_status=to, outcome=outcome,
    )  # fmt: skip


def test_each_lead_counts_from_its_creation_in_the_status_it_had() -> None:
    a, b = uuid4(), uuid4()
    leads = [
        (str(a), "qualified", SINCE - timedelta(days=1)),
        (str(b), "new", SINCE + timedelta(hours=12)),  # created after the first point
    ]
    entries = [
        change(a, UNTIL - timedelta(hours=1), "new", "qualified"),
        change(b, UNTIL - timedelta(hours=2), "new", "converted", outcome="suppressed"),
    ]
    series = status_series(leads, entries, SINCE, UNTIL, complete=True)
    assert series.counts == {"new": [1, 2, 2, 1], "qualified": [0, 0, 0, 1]}


def test_the_svg_escapes_labels() -> None:
    series = status_series([("x", "<b>", SINCE)], [], SINCE, UNTIL, complete=True)
    svg = svg_chart(series)
    assert "&lt;b&gt;: 1" in svg
    assert "<b>" not in svg
