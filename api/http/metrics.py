"""Prometheus metrics: one registry per app; projection gauges are read at scrape time.

No label carries workspace data (no workspace, lead, phone or raw path): routes are
templates, so the series count is bounded by the API, never by its users.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.rebuild_gauge import REBUILD_PROGRESS, ratio
from projections.catchup import Status
from service_layer.service import Recording

log = logging.getLogger("leadledger.metrics")
# No `*_created` series: nothing here needs them, and they double the series count.
disable_created_metrics()  # type: ignore[no-untyped-call]


class ProjectionCollector:
    """Lag, failed events and rebuild progress, read from the views on every scrape."""

    def __init__(self, status: Callable[[], Status], follower_errors: Callable[[], int]) -> None:
        self.status = status
        self.follower_errors = follower_errors

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "leadledger_follower_errors",
            "Failed catch-ups of this process's follower (retried)",
            value=self.follower_errors(),
        )
        try:
            s = self.status()
        except Exception as exc:  # a scrape must answer even when the views do not
            log.warning("projection status unavailable: %s", exc)
            yield _gauge("leadledger_projection_up", "1 when the views answered", 0)
            return
        building = s.building_generation is not None
        progress = ratio(s.building_position or 0, s.head) if building else 1.0
        yield _gauge("leadledger_projection_up", "1 when the views answered", 1)
        yield _gauge(
            "leadledger_projection_lag_events", "Ledger events not yet in the views", s.lag
        )
        yield _gauge(
            "leadledger_projection_failed_events", "Events the reducer refused", s.failures
        )
        yield _gauge("leadledger_ledger_head", "Last notification id of the ledger", s.head)
        yield _gauge("leadledger_rebuild_in_progress", "1 while a rebuild is building", building)
        yield _gauge(REBUILD_PROGRESS, "Rebuild progress 0..1 (1 when none runs)", progress)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    def __init__(self, status: Callable[[], Status], follower_errors: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.projection = ProjectionCollector(status, follower_errors)
        self.registry.register(self.projection)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "leadledger_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "leadledger_request_seconds",
            "HTTP request duration by route template",
            ["route"],
            registry=self.registry,
        )
        self.appended = Counter(
            "leadledger_events_appended",
            "Ledger events written (facts and lead registrations)",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "leadledger_duplicates_dropped",
            "Facts already in the ledger, so nothing was appended (redeliveries, retries)",
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def recorded(self, recording: Recording) -> None:
        self.appended.inc(recording.appended + len(recording.new_leads))
        self.duplicates.inc(recording.duplicates)

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            # Several uvicorn workers: sum every worker's counters, not just this one's.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self.projection)
            return generate_latest(registry)
        return generate_latest(self.registry)


async def prometheus_metrics(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(
        await run_in_threadpool(metrics.exposition), media_type=CONTENT_TYPE_PLAIN_0_0_4
    )
