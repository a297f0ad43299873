"""A projection handler that raises on one event, on SQLite and PostgreSQL.

The fault is injected in this process: `domain.reducer`'s handler for InboundMessageReceived
raises when the message text is a poison value. The app runs over real HTTP (uvicorn in a
thread) with its follower thread, as `leadledger serve` does. Then:

- ingestion is untouched (every delivery 200, the poisoned one included);
- the follower thread stays alive and keeps projecting every other lead, even those written
  in the same page as the poisoned event;
- the poisoned lead is frozen at its last good state (its later events wait);
- the event is reported: an error log naming its notification, the `ll_failures_l5_g<N>` row,
  `services.views.status().failures`, `leadledger_projection_failed_events` on /metrics
  and `leadledger projections status`;
- after the fix (the patch removed) and a restart, the lead stays frozen - a failed event
  is never skipped silently - until `leadledger projections rebuild` (run as a real
  subprocess, i.e. by the fixed code) re-derives it fully; `verify` then finds nothing.

A rebuild killed midway leaving the live view intact is covered by
tests/integration/test_rebuild.py::test_a_killed_rebuild_leaves_the_live_view_serving_and_resumes.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import domain.reducer.messages
from adapters.config.settings import Settings
from domain.identity import lead_id_for
from projections.state import read_state
from projections.tables import view_tables
from projections.verify import verify
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.e2e.test_server import LEADLEDGER
from tests.faults import POISON, poison, serve_in_process, server_env, wait_for_views
from tests.support import AUTH, kapso_headers, kapso_inbound

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432")  # A, B (poisoned), C
CLI_TIMEOUT = 120.0


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def projection_errors() -> Iterator[Collected]:
    handler = Collected()
    logger = logging.getLogger("leadledger.projections")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def message(phone: str, message_id: str, text: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = kapso_inbound(message_id, phone, phone, name="Budi")
    if text is not None:
        element["message"]["text"]["body"] = text
    return element


def post(client: httpx.Client, *elements: dict[str, Any]) -> None:
    """One Kapso delivery (a batch when several): its events are one transaction."""
    batch = len(elements) > 1
    body = json.dumps({"data": list(elements)} if batch else elements[0]).encode()
    key = "+".join(e["message"]["id"] for e in elements)
    headers = kapso_headers(body, "whatsapp.message.received", batch=batch, idempotency_key=key)
    resp = client.post("/webhook/kapso", content=body, headers=headers)
    assert resp.status_code == 200, resp.text


def contact(services: Services, phone: str) -> dict[str, Any]:
    lead = str(lead_id_for("acme", phone))
    with services.engines.read.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        row = conn.execute(select(tables.contacts).where(tables.contacts.c.lead_id == lead))
        return dict(row.one()._mapping)


def failures(services: Services) -> list[dict[str, Any]]:
    with services.engines.read.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        return [dict(r._mapping) for r in conn.execute(select(tables.failures))]


def cli(settings: Settings, tmp_path: Path, *args: str) -> str:
    env = server_env(settings.database_url, tmp_path, COLUMNS="200")
    env["LEADLEDGER_CONFIG_FILE"] = str(settings.config_file)
    done = subprocess.run(
        [str(LEADLEDGER), "projections", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def failed_events_column(status_output: str) -> int:
    """The 'failed events' cell of the live projection's row in `projections status`."""
    [row] = [line for line in status_output.splitlines() if "lead_views " in line + " "]
    cells = [c.strip() for c in row.replace("┃", "│").split("│") if c.strip()]
    return int(cells[5])  # projection, generation, position, head, lag, failed events, policy


def test_a_poisoned_event_freezes_only_its_lead_until_a_rebuild(
    durable_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    projection_errors: Collected,
) -> None:
    a, b, c = PHONES
    settings = settings_for(durable_database_url, tmp_path)
    monkeypatch.setattr(domain.reducer.messages, "inbound", poison(domain.reducer.messages.inbound))

    services = bootstrap(settings)
    try:
        with serve_in_process(services) as base_url, httpx.Client(base_url=base_url) as client:
            for number, phone in enumerate(PHONES):
                post(client, message(phone, f"wamid.first.{number}"))
            assert wait_for_views(services.views, 10.0) == 0
            # One batch, so one page of the follower: A's message, B's poison, C's message.
            post(
                client,
                message(a, "wamid.second.0"),
                message(b, "wamid.poison", POISON),
                message(c, "wamid.second.2"),
            )
            post(client, message(b, "wamid.second.1"))  # after the poison: must wait
            assert wait_for_views(services.views, 10.0) == 0  # the follower moved past it

            status = services.views.status()
            assert status.failures == 1
            [failure] = failures(services)
            assert failure["lead_id"] == str(lead_id_for("acme", b))
            assert "poisoned message text" in failure["error"]
            assert any(
                str(failure["notification_id"]) in message for message in projection_errors.messages
            ), projection_errors.messages
            # The follower is alive and counted no failed catch-up: the fault was isolated.
            follower = services.follower
            assert follower._threads
            assert all(t.is_alive() for t in follower._threads)
            assert follower.errors == 0
            assert {contact(services, p)["inbound_count"] for p in (a, c)} == {2}
            assert contact(services, b)["inbound_count"] == 1  # frozen before the poison
            metrics = client.get("/metrics").text
            assert "leadledger_projection_failed_events 1.0" in metrics, metrics
            # The server carries on: ingestion and reads.
            post(client, message(a, "wamid.third.0"))
            assert wait_for_views(services.views, 10.0) == 0
            assert contact(services, a)["inbound_count"] == 3
            assert client.get("/leads", headers=AUTH).status_code == 200
    finally:
        services.close()
    assert failed_events_column(cli(settings, tmp_path, "status")) == 1

    # The fix, and a restart: the lead stays frozen (its failure is not skipped silently).
    monkeypatch.undo()
    services = bootstrap(settings)
    try:
        services.views.catch_up()
        assert services.views.status().failures == 1
        assert contact(services, b)["inbound_count"] == 1
    finally:
        services.close()

    # The recovery: a rebuild, by the fixed code in its own process.
    assert "Rebuild finished" in cli(settings, tmp_path, "rebuild")
    services = bootstrap(settings)
    try:
        assert services.views.status().failures == 0
        assert failures(services) == []
        assert contact(services, b)["inbound_count"] == 3
        assert {contact(services, p)["inbound_count"] for p in (a, c)} == {3, 2}
        assert verify(services.engines.write, services.store).differences == []
    finally:
        services.close()
    assert failed_events_column(cli(settings, tmp_path, "status")) == 0
