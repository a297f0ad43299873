"""Leads by status over time, walked back from today's counts (api/http/dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from api.http.dashboard.status_chart import status_series, svg_chart
from projections.as_of import AuditEntry

UNTIL = datetime(2026, 3, 10, 12, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=3)


def change(at: datetime, from_status: str | None, to: str, outcome: str = "applied") -> AuditEntry:
    return AuditEntry(
        "status", uuid4(), None, 1, at, "human", "x",
        from_status=from_status, to_status=to, outcome=outcome,
    )  # fmt: skip


def test_counts_are_walked_back_from_today() -> None:
    entries = [
        change(UNTIL - timedelta(hours=1), "new", "qualified"),  # today
        change(UNTIL - timedelta(days=2, hours=1), None, "new"),  # two days ago: created
        change(UNTIL - timedelta(hours=2), "new", "converted", outcome="suppressed"),
    ]
    series = status_series(entries, {"new": 1, "qualified": 1}, SINCE, UNTIL, complete=True)
    assert series.counts["qualified"] == [0, 0, 0, 1]
    assert series.counts["new"] == [1, 2, 2, 1]


def test_the_svg_escapes_labels() -> None:
    series = status_series([], {"<b>": 2}, SINCE, UNTIL, complete=True)
    svg = svg_chart(series)
    assert "&lt;b&gt;: 2" in svg
    assert "<b>" not in svg
