"""One workspace's huge signed batch does not stop the other workspaces' webhooks.

The app in this process (uvicorn in a thread, real HTTP) on SQLite and on PostgreSQL, with
the default 5 MB body limit. Workspace acme posts the largest batch of one-line messages that limit
allows (tens of thousands) and, as Kapso does, retries the same bytes after each 503
until it gets its 200; meanwhile workspace other posts single messages one after
another. Every single delivery is answered 200, p99 under a second; the batch is stored
once; the process's memory grows by less than a stated bound while the batch is written.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import httpx

from adapters.webhooks import payloads
from service_layer.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.faults import ledger_facts, serve_in_process
from tests.support.workspaces import (
    KAPSO_SECRET,
    OTHER_KAPSO_SECRET,
    OTHER_PHONE_NUMBER_ID,
    PHONE_NUMBER_ID,
)

BODY_LIMIT = 5 * 1024 * 1024  # the default LEADLEDGER_MAX_BODY_BYTES
BATCH_LEADS = 2000
SMALL_P99_SECONDS = 1.0
# Growth of this process's resident memory while the batch is written (its body, parsed
# JSON, parts and answer included). The unbounded single transaction grew by about 1 GB.
RSS_GROWTH_BOUND_MB = 400
BATCH_DEADLINE_SECONDS = 240.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples this process's RSS every 50 ms until stopped."""

    def __init__(self) -> None:
        self.baseline = rss_mb()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak - self.baseline


def single(index: int) -> tuple[bytes, dict[str, str]]:
    phone = f"+62813{20_000_000 + index % 50:08d}"
    element = payloads.kapso_message(
        f"wamid.small.{index}",
        phone,
        phone_number_id=OTHER_PHONE_NUMBER_ID,
        conversation_id=f"conv-small-{index % 50}",
        text=f"small {index}",
        sender=phone,
    )
    body = httpx.Request("POST", "/", json=element).content
    return body, payloads.kapso_headers(OTHER_KAPSO_SECRET, body, payloads.KAPSO_RECEIVED)


def test_a_huge_batch_does_not_hold_up_another_workspaces_deliveries(
    durable_database_url: str, tmp_path: Path
) -> None:
    url = durable_database_url
    settings = settings_for(url, tmp_path).model_copy(update={"max_body_bytes": BODY_LIMIT})
    services = bootstrap(settings)
    batch, messages = payloads.kapso_large_batch(BODY_LIMIT, PHONE_NUMBER_ID, BATCH_LEADS)
    batch_headers = payloads.kapso_headers(KAPSO_SECRET, batch)
    batch_done = threading.Event()
    batch_answers: list[int] = []
    small: list[tuple[int, float]] = []  # (status, seconds) while the batch was in flight

    def post_batch(base_url: str) -> None:
        deadline = time.monotonic() + BATCH_DEADLINE_SECONDS
        with httpx.Client(base_url=base_url, timeout=60) as client:
            while time.monotonic() < deadline:
                answer = client.post(payloads.KAPSO_PATH, content=batch, headers=batch_headers)
                batch_answers.append(answer.status_code)
                if answer.status_code != 503:
                    break
                time.sleep(1.0)  # Kapso waits longer; sooner is the harder case
        batch_done.set()

    try:
        with (
            serve_in_process(services) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            body, headers = single(0)
            assert client.post(payloads.KAPSO_PATH, content=body, headers=headers).is_success
            memory = PeakRss()
            sender = threading.Thread(target=post_batch, args=(base_url,), daemon=True)
            sender.start()
            index = 1
            while not batch_done.is_set():
                body, headers = single(index)
                started = time.monotonic()
                answer = client.post(payloads.KAPSO_PATH, content=body, headers=headers)
                small.append((answer.status_code, time.monotonic() - started))
                index += 1
                time.sleep(0.05)
            sender.join(5)
            growth = memory.stop()
    finally:
        services.close()

    seconds = sorted(s for _, s in small) or [float("nan")]
    p99 = seconds[max(0, math.ceil(len(seconds) * 0.99) - 1)]
    print(
        f"batch of {messages} messages ({len(batch) / 1e6:.1f} MB): answers {batch_answers}; "
        f"{len(small)} single deliveries meanwhile, p99 {p99:.3f} s, max {seconds[-1]:.3f} s; "
        f"RSS +{growth:.0f} MB over {memory.baseline:.0f} MB"
    )
    assert {status for status, _ in small} == {200}
    assert p99 < SMALL_P99_SECONDS
    assert growth < RSS_GROWTH_BOUND_MB
    assert batch_answers[-1] == 200, batch_answers
    assert len(small) >= 20, "the batch was stored before the single deliveries could overlap"

    facts = ledger_facts(url)
    assert max(facts.values()) == 1  # the retries appended nothing twice
    assert sum(1 for f in facts if f[0] == "message") == messages + len(small) + 1
