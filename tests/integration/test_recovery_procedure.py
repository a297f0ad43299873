"""docs/reliability.md's recovery procedures, followed step by step as an operator would,
on SQLite and PostgreSQL, with the commands the doc names (`leadledger projections status |
rebuild | verify`, `leadledger history`, `GET /leads/{id}/events`) and the table it names.

The failure is injected as in tests/e2e/test_projection_faults.py (a reducer handler that
raises on one message text); "fix the reducer, deploy, restart" is undoing that patch and
bootstrapping a new process's services on the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient
from typer.testing import CliRunner

import domain.reducer.messages
from adapters.config.settings import Settings
from api.cli.main import app as cli_app
from api.http.app import create_app
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.values import Source
from projections.state import read_state
from projections.tables import LAYOUT, view_tables
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.faults import POISON, poison
from tests.support import AUTH, WORKSPACE
from tests.support.elsewhere import appending_elsewhere

PHONE_A, PHONE_B, PHONE_C = "+6281234567890", "+6285712345678", "+6281398765432"


@pytest.fixture
def settings(durable_database_url: str, tmp_path: Path) -> Settings:
    return settings_for(durable_database_url, tmp_path)


def leadledger(settings: Settings, *args: str) -> tuple[int, str]:
    """`leadledger ARGS` against the test database: exit code and output."""
    env = {
        "LEADLEDGER_DATABASE_URL": settings.database_url,
        "LEADLEDGER_CONFIG_FILE": str(settings.config_file),
    }
    result = CliRunner().invoke(cli_app, list(args), env=env)
    return result.exit_code, result.output


def projection_status(settings: Settings) -> dict[str, int]:
    """The live row of `leadledger projections status`, by its documented columns."""
    code, output = leadledger(settings, "projections", "status")
    assert code == 0, output
    [row] = [line for line in output.splitlines() if line.lstrip("│┃ ").startswith("lead_views ")]
    cells = [c.strip() for c in row.replace("┃", "│").split("│") if c.strip()]
    names = ("generation", "position", "ledger head", "lag", "failed events")
    return {name: int(cell) for name, cell in zip(names, cells[1:6], strict=True)}


def inbound(phone: str, message_id: str, body: str) -> RecordInboundMessage:
    said = Said(Source.KAPSO, "kapso", datetime.now(UTC), None, message_id)
    return RecordInboundMessage(phone, said, message_id=message_id, text=body)


def inbound_count(services: Services, phone: str) -> int:
    lead = str(lead_id_for(WORKSPACE, phone))
    with services.engines.read.connect() as conn:
        contacts = view_tables(read_state(conn).active_generation).contacts
        query = select(contacts.c.inbound_count).where(contacts.c.lead_id == lead)
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def restartable(settings: Settings) -> Iterator[list[Services]]:
    """The running process's services; a restart appends the next process's."""
    running = [bootstrap(settings)]
    yield running
    running[-1].close()


def restart(running: list[Services], settings: Settings) -> Services:
    running[-1].close()
    running.append(bootstrap(settings))
    return running[-1]


def test_a_projection_failed_on_an_event(
    settings: Settings, restartable: list[Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = restartable[0]
    monkeypatch.setattr(domain.reducer.messages, "inbound", poison(domain.reducer.messages.inbound))
    services.ledger.record(
        WORKSPACE, [inbound(p, f"wamid.{p}.1", "halo") for p in (PHONE_A, PHONE_B)]
    )
    services.views.catch_up()
    poisoned = services.ledger.record(
        WORKSPACE, [inbound(PHONE_B, "wamid.B.2", POISON), inbound(PHONE_C, "wamid.C.1", "halo")]
    )
    services.ledger.record(WORKSPACE, [inbound(PHONE_B, "wamid.B.3", "lagi")])
    services.views.catch_up()
    lead_b = str(lead_id_for(WORKSPACE, PHONE_B))

    # Seen: `failed events` > 0 in `projections status`; the other leads keep projecting.
    seen = projection_status(settings)
    assert seen["failed events"] == 1
    assert (inbound_count(services, PHONE_C), inbound_count(services, PHONE_B)) == (1, 1)

    # 1. Find the event: the ll_failures_l5_g<N> row, and the lead's facts.
    with services.engines.read.connect() as conn:
        table = f"ll_failures_l{LAYOUT}_g{seen['generation']}"
        rows = conn.execute(text(f'SELECT notification_id, lead_id, error FROM "{table}"')).all()
    [(notification_id, lead_id, error)] = rows
    assert lead_id == lead_b
    assert "poisoned message text" in error
    assert poisoned.last_notification_id is not None
    assert notification_id <= poisoned.last_notification_id  # in the poisoned transaction
    code, history = leadledger(settings, "history", lead_b, "--workspace", WORKSPACE)
    assert code == 0, history
    assert POISON in history
    events = TestClient(create_app(services.service)).get(f"/leads/{lead_b}/events", headers=AUTH)
    assert POISON in events.text
    assert len(events.json()["events"]) == 4  # registered + 3 messages: nothing lost

    # 2. Fix the reducer, deploy, restart: the lead stays frozen, never skipped silently.
    monkeypatch.undo()
    services = restart(restartable, settings)
    services.views.catch_up()
    assert projection_status(settings)["failed events"] == 1
    assert inbound_count(services, PHONE_B) == 1

    # 3. Rebuild: a new generation without failures; the lead re-derived from all its events.
    code, output = leadledger(settings, "projections", "rebuild")
    assert code == 0, output
    rebuilt = projection_status(settings)
    assert rebuilt["generation"] != seen["generation"]
    assert (rebuilt["failed events"], rebuilt["lag"]) == (0, 0)
    assert inbound_count(services, PHONE_B) == 3

    # 4. Verify: exit 0.
    code, output = leadledger(settings, "projections", "verify")
    assert code == 0, output
    assert "OK" in output


def test_the_server_crashed(settings: Settings, restartable: list[Services]) -> None:
    """Committed but never projected - what a crash leaves. Start again: nothing else."""
    services = restartable[0]
    services.ledger.record(WORKSPACE, [inbound(PHONE_A, "wamid.A.1", "halo")])
    services.views.catch_up()
    with appending_elsewhere(services):  # a crash between the commit and the views
        services.ledger.record(
            WORKSPACE, [inbound(p, f"wamid.{p}.2", "x") for p in (PHONE_A, PHONE_C)]
        )
    assert projection_status(settings)["lag"] > 0  # the views had not caught up

    services = restart(restartable, settings)
    services.views.catch_up()  # what the started server's follower does

    assert projection_status(settings)["lag"] == 0
    code, output = leadledger(settings, "projections", "verify")
    assert code == 0, output
    assert (inbound_count(services, PHONE_A), inbound_count(services, PHONE_C)) == (2, 1)
