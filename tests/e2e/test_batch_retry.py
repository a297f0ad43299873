"""A sender's retry of a batch still being written joins that write.

The batch's first POST outlives the ingest deadline (its write is held back here, as a
slow database would) and is answered 503 + Retry-After; the write goes on. The sender
retries the same bytes: the retry waits for the same write instead of starting a second
pass over the batch behind it, and once the batch is stored the next retry is answered
200 with every part recorded. Each message is handed to the ledger once and stored once.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.webhooks import payloads
from service_layer.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.faults import ledger_facts, serve_in_process
from tests.support.workspaces import KAPSO_SECRET, PHONE_NUMBER_ID

BODY_BYTES = 256 * 1024  # ~2,000 messages
DEADLINE_SECONDS = 0.5


def test_a_retry_of_a_batch_being_written_joins_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    settings = settings_for(url, tmp_path).model_copy(
        update={"ingest_timeout": DEADLINE_SECONDS, "max_body_bytes": BODY_BYTES}
    )
    services = bootstrap(settings)
    body, messages = payloads.kapso_large_batch(BODY_BYTES, PHONE_NUMBER_ID, leads=100)
    headers = payloads.kapso_headers(KAPSO_SECRET, body)
    handed: Counter[str] = Counter()
    record, save = services.ledger.record, services.store.save_leads
    release = threading.Event()

    def counting_record(workspace: str, commands: Any) -> Any:
        handed.update(c.fact for c in commands)
        return record(workspace, commands)

    def slow_save(leads: Any) -> Any:
        release.wait(60)
        return save(leads)

    monkeypatch.setattr(services.ledger, "record", counting_record)
    monkeypatch.setattr(services.store, "save_leads", slow_save)
    try:
        with (
            serve_in_process(services) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            first = client.post(payloads.KAPSO_PATH, content=body, headers=headers)
            retry = client.post(payloads.KAPSO_PATH, content=body, headers=headers)
            for answer in (first, retry):
                assert (answer.status_code, answer.headers.get("retry-after")) == (503, "5")
            release.set()
            stored = None
            for _ in range(600):  # until the write finished: the kept answer, at once
                stored = client.post(payloads.KAPSO_PATH, content=body, headers=headers)
                if stored.status_code == 200:
                    break
                assert stored.status_code == 503, stored.text
            assert stored is not None
            assert stored.status_code == 200, stored.text
            parts = stored.json()["parts"]
            assert len(parts) == messages
            assert {p["outcome"] for p in parts} == {"recorded"}
    finally:
        release.set()
        services.close()

    assert messages > 1000
    assert max(handed.values()) == 1, "a retry started a second pass over the batch"
    assert len(handed) == messages
    facts = ledger_facts(url)
    assert max(facts.values()) == 1
    assert sum(1 for f in facts if f[0] == "message") == messages
