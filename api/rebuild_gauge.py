"""The rebuild's progress as a Prometheus gauge, for the CLI (and the ratio /metrics shows)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from projections.rebuild import Progress

REBUILD_PROGRESS = "leadledger_rebuild_progress_ratio"


def ratio(done: int, total: int) -> float:
    """Progress in 0..1; an empty ledger is fully done."""
    return 1.0 if total <= 0 else min(1.0, max(0.0, done / total))


class RebuildGauge:
    """The rebuild's progress callback for the CLI: sets the gauge, then calls `then`.

    A CLI process is not scraped: with a `textfile` (LEADLEDGER_METRICS_TEXTFILE) every
    update is also written for node_exporter's textfile collector. The API's /metrics shows
    the same ratio, read from the projection state, while any process rebuilds.
    """

    def __init__(self, then: Progress | None = None, textfile: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self.gauge = Gauge(REBUILD_PROGRESS, "Rebuild progress 0..1", registry=self.registry)
        self.then = then
        self.textfile = textfile

    def __call__(self, done: int, total: int) -> None:
        self.gauge.set(ratio(done, total))
        if self.textfile is not None:
            write_to_textfile(str(self.textfile), self.registry)
        if self.then is not None:
            self.then(done, total)
