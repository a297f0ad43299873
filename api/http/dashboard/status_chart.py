"""Leads by status over time, as an SVG drawn on the server (no chart library in the
browser). Each lead counts from its creation; its status at a moment is today's, unless an
applied status change came after that moment — then it is the status that change left."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from projections.as_of import AuditEntry

WIDTH, HEIGHT, PAD = 640, 260, 36
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a", "#0a7a8a")
LeadNow = tuple[str, str | None, datetime]  # lead id, status today, created at


@dataclass(frozen=True)
class StatusSeries:
    days: list[datetime]  # since, each day after it, until
    counts: dict[str, list[int]]  # status -> leads in it at each of those moments
    complete: bool  # False: older changes were not read, the left end is approximate


def status_series(
    leads: Iterable[LeadNow],
    entries: Iterable[AuditEntry],
    since: datetime,
    until: datetime,
    complete: bool,
) -> StatusSeries:
    days = [since + timedelta(days=n) for n in range((until - since).days)] + [until]
    changes: dict[str, list[AuditEntry]] = {}
    for e in entries:
        if e.kind == "status" and e.outcome == "applied":
            changes.setdefault(str(e.lead_id), []).append(e)
    counts: dict[str, list[int]] = {}

    def add(status: str | None, index: int) -> None:
        counts.setdefault(status or "unset", [0] * len(days))[index] += 1

    for lead_id, now, created in leads:
        mine = sorted(changes.get(lead_id, []), key=lambda e: e.at)
        times = [e.at for e in mine]
        first = bisect.bisect_left(days, created)  # the first moment the lead exists at
        for index in range(first, len(days)):
            later = bisect.bisect_right(times, days[index])  # the first change after it
            add(now if later == len(mine) else mine[later].from_status, index)
    return StatusSeries(days, dict(sorted(counts.items())), complete)


def svg_chart(series: StatusSeries) -> str:
    top = max((max(v) for v in series.counts.values() if v), default=0) or 1
    steps = max(1, len(series.days) - 1)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / steps

    def y(n: int) -> float:
        return HEIGHT - PAD - n * (HEIGHT - 2 * PAD) / top

    legend_bottom = HEIGHT + 20 * len(series.counts)
    axis_y = HEIGHT - PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {legend_bottom}" '
        'role="img" aria-labelledby="chart-title" class="chart">',
        '<title id="chart-title">Leads by status, one point per day</title>',
        f'<line x1="{PAD}" y1="{axis_y}" x2="{WIDTH - PAD}" y2="{axis_y}" stroke="#57606a"/>',
        f'<text x="4" y="{PAD}" font-size="11">{top}</text>',
        f'<text x="4" y="{HEIGHT - PAD}" font-size="11">0</text>',
    ]
    if series.days:
        first, last = series.days[0], series.days[-1]
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 12}" font-size="11">{first:%Y-%m-%d}</text>')
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" font-size="11" text-anchor="end">'
            f"{last:%Y-%m-%d}</text>"
        )
    for n, (status, values) in enumerate(series.counts.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        label = escape(f"{status}: {values[-1] if values else 0}")
        ly = HEIGHT + 20 * n + 10
        parts.append(f'<rect x="{PAD}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{PAD + 18}" y="{ly + 1}" font-size="12">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
