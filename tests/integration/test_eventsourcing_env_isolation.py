"""The event store reads only the environment built from our settings (issue 17).

eventsourcing names its variables after the application ("leadledger"), so it would read
LEADLEDGER_SQLITE_DBNAME or LEADLEDGER_PERSISTENCE_MODULE, and bare PERSISTENCE_MODULE,
from the process environment: the ledger would move while the keys and the views stayed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.webhooks.payloads import KAPSO_RECEIVED
from service_layer.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.support import KapsoDelivery, kapso_inbound, ledger_size, record_kapso

STRAY = {
    "LEADLEDGER_SQLITE_DBNAME": "elsewhere.db",
    "LEADLEDGER_PERSISTENCE_MODULE": "eventsourcing.popo",
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "SQLITE_DBNAME": "bare-elsewhere.db",
    "LEADLEDGER_AGGREGATE_CACHE_MAXSIZE": "not a number",
    "LEADLEDGER_IS_SNAPSHOTTING_ENABLED": "",
}


def test_stray_variables_move_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in STRAY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    ledger = tmp_path / "ledger.db"
    services = bootstrap(settings_for(f"sqlite:///{ledger}", tmp_path))
    try:
        delivery = KapsoDelivery(
            KAPSO_RECEIVED, (kapso_inbound("wamid.ISO1", "+6281234567890", "+6281234567890"),)
        )
        assert record_kapso(services, delivery).appended
        recorded = ledger_size(services)
        assert recorded > 0
    finally:
        services.close()
    with sqlite3.connect(ledger) as conn:
        [(stored,)] = conn.execute("SELECT count(*) FROM stored_events").fetchall()
    assert stored == recorded
    assert not (tmp_path / "elsewhere.db").exists()
    assert not (tmp_path / "bare-elsewhere.db").exists()
