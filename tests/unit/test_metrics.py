"""The metrics registry, the scrape-time projection gauges and the rebuild progress hook."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.http.metrics import Metrics
from api.logging_setup import log_config
from api.rebuild_gauge import RebuildGauge, ratio
from projections.catchup import Status
from service_layer.ledger import RecordedFact, Recording

ROOT = Path(__file__).resolve().parents[2]


def status(
    position: int = 7, head: int = 10, failures: int = 2, building: int | None = None
) -> Status:
    return Status(1, position, head, failures, 2 if building is not None else None, building, "p")


def samples(metrics: Metrics) -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        s.name + (str(sorted(s.labels.items())) if s.labels else ""): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_ratio_is_clamped_to_0_1() -> None:
    assert [ratio(0, 10), ratio(5, 10), ratio(10, 10), ratio(12, 10)] == [0.0, 0.5, 1.0, 1.0]
    assert ratio(0, 0) == 1.0  # an empty ledger is fully rebuilt
    assert ratio(-1, 10) == 0.0


def test_projection_gauges_are_read_at_scrape_time() -> None:
    current = [status()]
    metrics = Metrics(lambda: current[0], lambda: 3)
    got = samples(metrics)
    assert got["leadledger_projection_lag_events"] == 3
    assert got["leadledger_projection_failed_events"] == 2
    assert got["leadledger_ledger_head"] == 10
    assert got["leadledger_projection_up"] == 1
    assert got["leadledger_follower_errors_total"] == 3
    assert got["leadledger_rebuild_in_progress"] == 0
    assert got["leadledger_rebuild_progress_ratio"] == 1
    current[0] = status(position=10, building=4)
    got = samples(metrics)
    assert got["leadledger_projection_lag_events"] == 0
    assert got["leadledger_rebuild_in_progress"] == 1
    assert got["leadledger_rebuild_progress_ratio"] == 0.4  # 4 of 10 in the new generation


def test_a_failing_status_still_scrapes() -> None:
    def down() -> Status:
        raise ConnectionError("views down")

    got = samples(Metrics(down, lambda: 0))
    assert got["leadledger_projection_up"] == 0
    assert "leadledger_projection_lag_events" not in got
    assert "leadledger_follower_errors_total" in got


def test_requests_and_recordings_are_counted_per_app() -> None:
    metrics, other = Metrics(status, lambda: 0), Metrics(status, lambda: 0)
    metrics.observe_request("/leads/{lead_id}", "GET", 200, 0.02)
    metrics.observe_request("/leads/{lead_id}", "GET", 200, 0.04)
    metrics.observe_request("/leads/{lead_id}", "GET", 404, 0.01)
    lead = uuid.uuid4()
    facts = [RecordedFact(lead, "a", True), RecordedFact(lead, "b", True)]
    metrics.recorded(Recording([*facts, RecordedFact(lead, "c", False)], new_leads=[lead]))
    metrics.recorded(Recording([RecordedFact(lead, "a", False)], new_leads=[]))
    got = samples(metrics)
    ok = "[('method', 'GET'), ('route', '/leads/{lead_id}'), ('status', '200')]"
    assert got["leadledger_requests_total" + ok] == 2
    assert got["leadledger_requests_total" + ok.replace("200", "404")] == 1
    assert got["leadledger_request_seconds_count[('route', '/leads/{lead_id}')]"] == 3
    seconds = got["leadledger_request_seconds_sum[('route', '/leads/{lead_id}')]"]
    assert seconds == pytest.approx(0.07)
    assert got["leadledger_events_appended_total"] == 3  # two facts and one registration
    assert got["leadledger_duplicates_dropped_total"] == 2
    assert samples(other)["leadledger_events_appended_total"] == 0  # registries are per app
    assert not any(name.endswith("_created") for name in got)


def test_rebuild_gauge_sets_chains_and_writes_the_textfile(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    textfile = tmp_path / "rebuild.prom"
    gauge = RebuildGauge(then=lambda done, total: seen.append((done, total)), textfile=textfile)
    gauge(250, 1000)
    assert gauge.registry.get_sample_value("leadledger_rebuild_progress_ratio") == 0.25
    assert "leadledger_rebuild_progress_ratio 0.25" in textfile.read_text()
    gauge(1000, 1000)
    assert "leadledger_rebuild_progress_ratio 1.0" in textfile.read_text()
    assert seen == [(250, 1000), (1000, 1000)]
    RebuildGauge()(1, 2)  # no textfile, no chained callback: just the gauge


def test_uvicorn_log_config_is_json_without_an_access_log() -> None:
    config = log_config("debug")
    assert config["formatters"]["json"]["()"] == "api.logging_setup.JsonFormatter"
    assert config["loggers"]["leadledger"]["level"] == "DEBUG"
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert log_config("nonsense")["loggers"]["uvicorn"]["level"] == "INFO"


MULTIPROCESS = """
from api.http.metrics import Metrics
from tests.unit.test_metrics import status
a, b = Metrics(status, lambda: 0), Metrics(status, lambda: 0)
a.observe_request("/healthz", "GET", 200, 0.01)
b.observe_request("/healthz", "GET", 200, 0.01)
print(a.exposition().decode())
"""


def test_several_workers_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout  # fmt: skip
    assert 'leadledger_requests_total{method="GET",route="/healthz",status="200"} 2.0' in out
    assert "leadledger_projection_lag_events 3.0" in out
