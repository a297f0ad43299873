"""GET /readyz follows the ledger's writes: a writer stuck on one transaction makes the
process unready, and it is ready again by itself once the transaction ends."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from api.http.health import readiness
from service_layer.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.support.kapso_deliveries import KapsoDelivery, kapso_inbound, record_kapso

STALL_SECONDS = 0.5  # the ingest deadline of this test: a batch longer is "stuck"


def wait_until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_stuck_writer_makes_the_process_unready_until_it_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(f"sqlite:///{tmp_path}/ledger.db", tmp_path)
    services = bootstrap(settings.model_copy(update={"ingest_timeout": STALL_SECONDS}))
    release = threading.Event()
    save = services.store.save_leads

    def stuck_save(leads: Any) -> Any:
        release.wait(60)  # the database holding the writer, as a stalled insert did
        return save(leads)

    try:
        assert readiness(services.service).status == "ready"
        monkeypatch.setattr(services.store, "save_leads", stuck_save)
        phone = "+6281200000001"
        message = kapso_inbound("wamid.stuck", phone, phone)
        delivery = KapsoDelivery("whatsapp.message.received", (message,))
        writer = threading.Thread(target=record_kapso, args=(services, delivery), daemon=True)
        writer.start()
        assert wait_until(lambda: readiness(services.service).status == "not_ready", 10)
        ready = readiness(services.service)
        assert (ready.failed, ready.database) == ("ledger_writes", "unavailable")

        release.set()  # the transaction ends: ready again, nobody restarted anything
        writer.join(30)
        assert not writer.is_alive()
        assert wait_until(lambda: readiness(services.service).status == "ready", 10)
    finally:
        release.set()
        services.close()
