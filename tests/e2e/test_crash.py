"""The real server killed and stopped under load, on SQLite and on PostgreSQL.

- Crash: `leadledger serve` takes signed deliveries from 8 concurrent senders and is
  killed with SIGKILL mid-load. With no server running, the ledger is read directly
  (`adapters.eventstore.store.open_store`): every delivery answered 200 is there exactly once.
  After a
  restart, redelivering every acknowledged delivery appends nothing, redelivering
  everything (as Kapso retries what got no 200) leaves every fact exactly once, and the
  views the restarted server's follower keeps equal a full rebuild (`projections.verify`).
  `bench/soak.py` runs the same round many times with more deliveries.
- Graceful shutdown: SIGTERM while requests are in flight. Each request either completes
  with 200 (and is in the ledger) or never reaches the application (refused, or reset
  before uvicorn read it - then nothing of it is in the ledger); none is cut with a 5xx.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path

from tests.e2e.test_server import SHUTDOWN_SECONDS
from tests.faults import (
    Answer,
    crash_round,
    ledger_facts,
    send_all,
    server_on,
    signed_deliveries,
)

CRASH_DELIVERIES = 240  # about 330 facts over 30 leads; the soak script sends thousands
KILL_AFTER = 100
SIGTERM_DELIVERIES = 300
SIGTERM_AFTER = 60


def test_crash_under_load_loses_and_duplicates_nothing(
    durable_backend: str, durable_database_url: str, tmp_path: Path
) -> None:
    deliveries = signed_deliveries(CRASH_DELIVERIES, leads=30, seed=11)
    result = crash_round(
        durable_backend, durable_database_url, tmp_path, deliveries, kill_after=KILL_AFTER
    )
    print(result)  # the figures, shown by `pytest -rP` (docs/reliability.md quotes them)
    assert result.problems() == [], result
    assert result.acknowledged >= KILL_AFTER
    # Killed mid-load: the rest got no answer (cut or refused), to be redelivered.
    assert result.no_answer > 0, result
    assert result.acknowledged + result.no_answer == CRASH_DELIVERIES, result


def test_sigterm_drains_in_flight_requests(durable_database_url: str, tmp_path: Path) -> None:
    # No repeats: a delivery's facts in the ledger then prove that delivery was processed.
    deliveries = signed_deliveries(SIGTERM_DELIVERIES, leads=40, seed=12, duplicate_rate=0.0)
    acked = 0
    lock = threading.Lock()
    with server_on(durable_database_url, tmp_path, "server.log") as server:

        def on_answer(answer: Answer) -> None:
            nonlocal acked
            if answer.status == 200:
                with lock:
                    acked += 1
                    if acked == SIGTERM_AFTER:
                        server.process.send_signal(signal.SIGTERM)

        # A connection per request: a keep-alive connection closed while idle is no fault.
        answers = send_all(
            server.base_url,
            deliveries,
            workers=12,
            timeout=30.0,
            on_answer=on_answer,
            keepalive=False,
        )
        code = server.process.wait(timeout=SHUTDOWN_SECONDS)
        output = server.output()
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output

    statuses = Counter(a.status for a in answers)
    errors = Counter(a.error for a in answers if a.status is None)
    print(f"SIGTERM after {SIGTERM_AFTER} acks: answers {dict(statuses)}, errors {dict(errors)}")
    assert set(statuses) <= {200, None}, (statuses, output)  # never a 5xx (or anything else)
    assert statuses[200] >= SIGTERM_AFTER
    assert errors, "SIGTERM came after the last request: nothing was in flight"
    facts = ledger_facts(durable_database_url)
    for answer in answers:
        delivery = deliveries[answer.delivery]
        stored = {f: facts[f] for f in delivery.facts}
        if answer.status == 200:
            assert set(stored.values()) == {1}, (answer, stored)
        else:
            # No answer: the request never reached the application, so nothing of it was
            # stored (a request it had started would have been drained to a 200).
            assert set(stored.values()) == {0}, (answer, stored, errors)
    assert max(facts.values()) == 1
