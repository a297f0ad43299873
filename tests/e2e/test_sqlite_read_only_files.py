"""SQLite's data files made read-only mid-load, then writable again: no restart needed.

The files are made immutable (`chattr +i`: a chmod does not stop root, and an immutable
file refuses writes even through descriptors opened before) - the ledger, the views and
their WAL files; the key store stays writable. Meanwhile webhooks answer 503 +
Retry-After, /readyz says the ledger's writes fail, and API clients keep reading (200):
their reads make the pools open new connections, which SQLite opens read-only. Once the
files are writable again, deliveries are accepted within RECOVERY_SECONDS and /readyz is
ready, without a restart: connections SQLite opened read-only during the fault are
dropped, not reused for ever. The follower catches the views up and stops failing; every
delivery answered 200 is stored exactly once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service_layer.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.e2e.test_outage import (
    assert_exactly_once,
    facts_of,
    recovery_seconds,
    refused_properly,
)
from tests.faults import (
    ledger_facts,
    send_all,
    serve_in_process,
    signed_deliveries,
    wait_for_views,
)
from tests.support import AUTH

RECOVERY_SECONDS = 20.0  # the reported bug: still refusing writes after 30 s and more


def chattr(flag: str, paths: list[Path]) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def require_chattr(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr (immutable files)")
    probe = tmp_path / "probe"
    probe.write_text("x")
    try:
        chattr("+i", [probe])
    except subprocess.CalledProcessError:
        pytest.skip("this file system has no immutable flag")
    chattr("-i", [probe])


@contextmanager
def read_only(paths: list[Path]) -> Iterator[None]:
    chattr("+i", paths)
    try:
        yield
    finally:
        chattr("-i", paths)


def read_while(base_url: str, lead_ids: list[str], until: threading.Event) -> list[int]:
    """GET each lead's events (the event store) and the lead list (the views) from 8
    threads until `until` is set; every status answered."""
    statuses: list[int] = []

    def reader(offset: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30, headers=AUTH) as client:
            index = offset
            while not until.is_set():
                lead = lead_ids[index % len(lead_ids)]
                statuses.append(client.get(f"/leads/{lead}/events").status_code)
                statuses.append(client.get("/leads").status_code)
                index += 1

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(8)]
    for thread in threads:
        thread.start()
    until.wait()
    for thread in threads:
        thread.join(30)
    return statuses


def wait_ready(client: httpx.Client, seconds: float) -> float:
    started = time.monotonic()
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() - started < seconds, "/readyz did not become ready again"
        time.sleep(0.2)
    return time.monotonic() - started


def test_sqlite_files_read_only_then_writable_recover_without_restart(tmp_path: Path) -> None:
    require_chattr(tmp_path)
    url = f"sqlite:///{tmp_path}/ledger.db"
    services = bootstrap(settings_for(url, tmp_path))
    deliveries = signed_deliveries(200, leads=25, seed=41)
    warm, during, after = deliveries[:40], deliveries[40:120], deliveries[120:]
    data_files = [
        tmp_path / name
        for name in ("ledger.db", "ledger.db-wal", "ledger.views.db", "ledger.views.db-wal")
        if (tmp_path / name).exists()
    ]
    try:
        with (
            serve_in_process(services) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            assert {a.status for a in send_all(base_url, warm, workers=4)} == {200}
            assert wait_for_views(services.views, 30) == 0

            lead_ids = [x["lead_id"] for x in client.get("/leads", headers=AUTH).json()["leads"]]
            stop_reading = threading.Event()
            reads: list[int] = []
            with read_only(data_files):
                readers = threading.Thread(
                    target=lambda: reads.extend(read_while(base_url, lead_ids, stop_reading))
                )
                readers.start()
                answers = send_all(base_url, during, workers=6)
                ready_during = client.get("/readyz")
                stop_reading.set()
                readers.join(60)
            lifted = time.monotonic()
            assert set(reads) == {200}, Counter(reads)  # reads need no writes
            refused = refused_properly(answers)
            print(f"read-only: {dict(Counter(a.status for a in answers))}")
            assert refused, "every write was accepted on read-only files"
            assert ready_during.status_code == 503, ready_during.text
            assert ready_during.json()["failed"] == "ledger_writes"

            # Writable again: accepted and ready within RECOVERY_SECONDS, by itself.
            accepted_after = recovery_seconds(base_url, after[0], lifted)
            ready_after = wait_ready(client, RECOVERY_SECONDS)
            print(f"accepting {accepted_after:.1f} s, ready {ready_after:.1f} s after")
            assert accepted_after < RECOVERY_SECONDS
            late = send_all(base_url, after, workers=4)
            refusals = [a.sent_at + a.seconds - lifted for a in late if a.status != 200]
            print(f"after: {dict(Counter(a.status for a in late))}, refusals until {refusals}")
            assert {a.status for a in late} == {200}
            retried = send_all(base_url, [during[a.delivery - 40] for a in refused], workers=4)
            assert {a.status for a in retried} == {200}

            assert wait_for_views(services.views, RECOVERY_SECONDS) == 0
            errors = services.follower.errors
            time.sleep(2.0)  # the follower has stopped failing, not only caught up once
            assert services.follower.errors == errors
    finally:
        services.close()

    assert_exactly_once(ledger_facts(url), facts_of(deliveries, [*answers, *late, *retried]))
