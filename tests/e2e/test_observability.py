"""Request ids, JSON request logs without secrets, /metrics and /readyz, on every backend."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from adapters.webhooks.payloads import KAPSO_RECEIVED
from adapters.webhooks.signatures import sign
from api.http.app import create_app
from api.http.observability import request_id_from
from api.logging_setup import JsonFormatter, current_request_id
from api.rebuild_gauge import RebuildGauge
from projections.database import Engines
from projections.rebuild import rebuild
from projections.state import read_state
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import (
    API_KEY,
    AUTH,
    HUMAN_AUTH,
    KAPSO_SECRET,
    META_SECRET,
    kapso_headers,
    ledger_count,
    meta_headers,
    sample,
)
from tests.support.elsewhere import appending_elsewhere

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def quiet(database_url: str, tmp_path: Path) -> Iterator[tuple[Services, TestClient]]:
    """No follower (the views move only when told) and no lag allowed by /readyz."""
    settings = settings_for(database_url, tmp_path)
    built = bootstrap(settings.model_copy(update={"follow": False, "ready_max_lag": 0}))
    with TestClient(create_app(built.service)) as test_client:
        yield built, test_client
    built.close()


def deliver(client: TestClient) -> Any:
    body = sample("kapso-message-received.json")
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, KAPSO_RECEIVED))
    assert resp.status_code == 200, resp.text
    return resp


def scrape(client: TestClient) -> Samples:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class JsonLines(logging.Handler):
    """What the `leadledger` loggers write, formatted when emitted (as in production)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self, logger: str = "leadledger.requests") -> list[dict[str, Any]]:
        return [line for line in map(json.loads, self.lines) if line["logger"] == logger]


@pytest.fixture
def log() -> Iterator[JsonLines]:
    handler = JsonLines()
    logger = logging.getLogger("leadledger")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# -- request ids and the request log --------------------------------------------------------


def test_request_id_is_generated_returned_and_logged(client: TestClient, log: JsonLines) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]
    lines = log.parsed()
    assert [line["request_id"] for line in lines] == ids
    assert set(lines[0]) == {
        "ts", "level", "logger", "message", "request_id", "method", "route", "status",
        "duration_ms",
    }  # fmt: skip
    assert (lines[0]["method"], lines[0]["route"], lines[0]["status"]) == ("GET", "/healthz", 200)
    assert lines[0]["level"] == "info"
    assert isinstance(lines[0]["duration_ms"], float)


def test_a_sane_incoming_request_id_is_honoured(client: TestClient, log: JsonLines) -> None:
    for sane in ("req-1.A_b", "a" * 128):
        resp = client.get("/healthz", headers={"X-Request-ID": sane})
        assert resp.headers["x-request-id"] == sane
    for insane in ("", "a" * 129, "bad id", "<script>", "a/b"):
        resp = client.get("/healthz", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["x-request-id"]), insane
    assert [line["request_id"] for line in log.parsed()][:2] == ["req-1.A_b", "a" * 128]


def test_the_log_names_the_route_template_and_workspace(client: TestClient, log: JsonLines) -> None:
    lead_id = deliver(client).json()["facts"][0]["lead_id"]
    log.lines.clear()
    assert client.get(f"/leads/{lead_id}", headers=AUTH).status_code == 200
    assert client.get("/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"/nowhere/{lead_id}").status_code == 404
    found, refused, unmatched = log.parsed()
    assert (found["route"], found["status"]) == ("/leads/{lead_id}", 200)
    assert found["workspace"] == "acme"
    assert found["key_id"].startswith("config:")  # the key's id, never the key
    assert API_KEY not in "".join(log.lines)
    assert (refused["route"], refused["status"]) == ("/stats", 401)
    assert "workspace" not in refused
    assert "key_id" not in refused
    assert (unmatched["route"], unmatched["status"]) == ("unmatched", 404)
    assert not any(lead_id in line for line in log.lines)  # templates, never raw paths


def test_keys_and_signatures_never_reach_the_logs(
    client: TestClient, log: JsonLines, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = sample("kapso-message-received.json")
    kapso_signature = sign(KAPSO_SECRET, body)
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, KAPSO_RECEIVED))
    assert resp.status_code == 200
    bad = {**kapso_headers(body, KAPSO_RECEIVED), "X-Webhook-Signature": "ab" * 32}
    assert client.post("/webhook/kapso", content=body, headers=bad).status_code == 401
    meta = sample("meta-text-message.json")
    meta_signature = meta_headers(meta)["X-Hub-Signature-256"]
    client.post("/webhook/meta", content=meta, headers=meta_headers(meta))
    assert client.get("/stats", headers=AUTH).status_code == 200
    assert client.get("/stats", headers={"Authorization": f"Bearer {API_KEY}x"}).status_code == 401
    formatter = JsonFormatter()
    logged = "".join([caplog.text, *log.lines, *map(formatter.format, caplog.records)])
    assert len(log.parsed()) == 5
    for secret in (API_KEY, kapso_signature, "ab" * 32, meta_signature, KAPSO_SECRET, META_SECRET):
        assert secret not in logged
    assert "Budi" not in logged  # no bodies either


def test_an_unhandled_error_is_answered_and_logged_with_its_request_id(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch, log: JsonLines
) -> None:
    def boom(phone_number_id: str | None) -> str | None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services.workspaces, "for_phone_number_id", boom)
    body = sample("kapso-message-received.json")
    raw = TestClient(client.app, raise_server_exceptions=False)
    resp = raw.post("/webhook/kapso", content=body, headers=kapso_headers(body, KAPSO_RECEIVED))
    assert resp.status_code == 500
    request_id = resp.headers["x-request-id"]
    [line] = log.parsed()
    assert (line["request_id"], line["status"], line["level"]) == (request_id, 500, "error")
    [error] = log.parsed("leadledger.api")  # the traceback, tied to the same request
    assert error["request_id"] == request_id
    assert "RuntimeError: boom" in error["exc"]
    assert value(scrape(client), "leadledger_requests_total", route="/webhook/kapso",
                 method="POST", status="500") == 1  # fmt: skip


def test_the_json_formatter_redacts_and_carries_the_request_id() -> None:
    record = logging.makeLogRecord(
        {"name": "leadledger.x", "levelname": "WARNING", "msg": "got %s and %s",
         "args": ("Bearer s3cr3t-key", "sha256=" + "0f" * 32), "workspace": "acme"}
    )  # fmt: skip
    token = current_request_id.set("rid-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["message"] == "got Bearer [redacted] and sha256=[redacted]"
    assert (line["request_id"], line["workspace"], line["level"]) == ("rid-1", "acme", "warning")
    assert request_id_from("ok-1") == "ok-1"
    assert request_id_from("no\nway") != "no\nway"


# -- /metrics -------------------------------------------------------------------------------


def test_metrics_count_requests_appends_and_duplicates(
    client: TestClient, services: Services
) -> None:
    before, size = scrape(client), ledger_count(services)
    facts = len(deliver(client).json()["facts"])
    first, grown = scrape(client), ledger_count(services) - size
    assert grown > facts > 0  # the facts, and the lead's registration
    appended = "leadledger_events_appended_total"
    dropped = "leadledger_duplicates_dropped_total"
    assert value(first, appended) - value(before, appended) == grown
    assert value(first, dropped) == value(before, dropped)
    deliver(client)  # Kapso redelivers: every fact is known
    second = scrape(client)
    assert ledger_count(services) - size == grown
    assert value(second, appended) == value(first, appended)
    assert value(second, dropped) - value(first, dropped) == facts
    labels = {"route": "/webhook/kapso", "method": "POST", "status": "200"}
    assert value(second, "leadledger_requests_total", **labels) == 2
    assert value(second, "leadledger_request_seconds_count", route="/webhook/kapso") == 2
    assert value(second, "leadledger_requests_total", route="/metrics", method="GET",
                 status="200") == 2  # fmt: skip


def test_command_retries_count_as_duplicates(client: TestClient) -> None:
    lead_id = deliver(client).json()["facts"][0]["lead_id"]
    before = scrape(client)
    note = {"content": "call back", "author": "ana"}
    headers = {**HUMAN_AUTH, "Idempotency-Key": "note-1"}
    for _ in range(2):
        resp = client.post(f"/leads/{lead_id}/notes", json=note, headers=headers)
        assert resp.status_code == 200, resp.text
    after = scrape(client)
    for name in ("leadledger_events_appended_total", "leadledger_duplicates_dropped_total"):
        assert value(after, name) - value(before, name) == 1, name


def test_metrics_carry_no_workspace_data(client: TestClient) -> None:
    lead_id = deliver(client).json()["facts"][0]["lead_id"]
    client.get(f"/leads/{lead_id}", headers=AUTH)
    client.get("/leads/by-phone/%2B6281234567890", headers=AUTH)
    text = client.get("/metrics").text
    for private in ("acme", lead_id, "6281234567890", API_KEY):
        assert private not in text
    assert 'route="/leads/by-phone/{phone}"' in text


def test_lag_and_failure_gauges_follow_the_views(quiet: tuple[Services, TestClient]) -> None:
    services, client = quiet
    empty = scrape(client)
    assert value(empty, "leadledger_projection_lag_events") == 0
    assert value(empty, "leadledger_projection_up") == 1
    with appending_elsewhere(services):  # this process's inline views would take it
        deliver(client)
    behind = scrape(client)
    head = services.views.status().head
    assert head > 0
    assert value(behind, "leadledger_projection_lag_events") == head
    assert value(behind, "leadledger_ledger_head") == head
    assert value(behind, "leadledger_projection_failed_events") == 0
    assert value(behind, "leadledger_rebuild_in_progress") == 0
    assert value(behind, "leadledger_rebuild_progress_ratio") == 1
    services.views.catch_up()
    assert value(scrape(client), "leadledger_projection_lag_events") == 0


def test_rebuild_progress_is_reported(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    deliver(client)
    head = services.views.status().head
    seen: list[tuple[int, int, float, float, float]] = []

    def check(done: int, total: int) -> None:
        samples = scrape(client)  # the API reads the building generation's position
        served = value(samples, "leadledger_rebuild_progress_ratio")
        building = value(samples, "leadledger_rebuild_in_progress")
        hooked = gauge.registry.get_sample_value("leadledger_rebuild_progress_ratio")
        seen.append((done, total, served, building, hooked or 0.0))

    textfile = tmp_path / "rebuild.prom"
    gauge = RebuildGauge(then=check, textfile=textfile)
    with services.engines.read.connect() as conn:
        policy = read_state(conn).active_policy
    rebuild(services.engines.write, services.store, policy, gauge, page_size=1)
    assert [s[0] for s in seen] == list(range(1, head + 1))
    for done, total, served, building, set_by_hook in seen:
        assert total == head
        assert served == pytest.approx(done / total)
        assert building == 1
        assert set_by_hook == pytest.approx(done / total)
    assert "leadledger_rebuild_progress_ratio 1.0" in textfile.read_text()
    after = scrape(client)
    assert value(after, "leadledger_rebuild_in_progress") == 0
    assert value(after, "leadledger_rebuild_progress_ratio") == 1


# -- /readyz --------------------------------------------------------------------------------


def test_ready_when_the_databases_answer(client: TestClient) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready", "database": "ok", "projection_lag": 0}


def test_not_ready_when_the_views_database_is_dead(
    client: TestClient, services: Services, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (
        "postgresql+psycopg://postgres@127.0.0.1:1/test"
        if backend == "postgres"
        else "sqlite+pysqlite:////nonexistent-leadledger-dir/views.db"
    )
    dead = create_engine(url, connect_args={"connect_timeout": 2} if backend == "postgres" else {})
    monkeypatch.setattr(services.views, "engines", Engines(dead, dead))
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json() == {
        "status": "not_ready", "database": "unavailable", "projection_lag": None, "failed": "views",
    }  # fmt: skip
    assert value(scrape(client), "leadledger_projection_up") == 0  # /metrics still answers
    monkeypatch.undo()
    dead.dispose()
    assert client.get("/readyz").status_code == 200


def test_not_ready_when_the_event_store_fails(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> int:
        raise ConnectionError("event store down")

    monkeypatch.setattr(services.store.recorder, "max_notification_id", down)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json()["failed"] == "event_store"
    assert resp.json()["database"] == "unavailable"


def test_not_ready_while_the_views_lag_beyond_the_threshold(
    quiet: tuple[Services, TestClient],
) -> None:
    services, client = quiet
    assert client.get("/readyz").status_code == 200  # lag 0 is within a threshold of 0
    with appending_elsewhere(services):  # this process's inline views would take it
        deliver(client)
    lag = services.views.status().lag
    assert lag > 0
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json() == {
        "status": "not_ready", "database": "ok", "projection_lag": lag, "failed": "projection_lag",
    }  # fmt: skip
    services.views.catch_up()
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["projection_lag"]) == (200, 0)


# -- OpenAPI and shutdown -------------------------------------------------------------------


def test_openapi_documents_metrics_and_readiness(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    metrics, ready = paths["/metrics"]["get"], paths["/readyz"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]
    assert metrics["security"] == ready["security"] == []
    schema = ready["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ReadyOut"}


def test_shutdown_stops_the_follower_after_the_last_request(services: Services) -> None:
    before = set(threading.enumerate())
    with TestClient(create_app(services.service)) as test_client:
        started = [
            t for t in threading.enumerate() if t not in before and t.name.startswith("views-")
        ]
        assert started
        assert all(t.is_alive() for t in started)
        assert test_client.get("/healthz").status_code == 200
    assert not any(t.is_alive() for t in started)
