"""The database goes away mid-load, then comes back.

PostgreSQL: the real server (`leadledger serve`) reaches PostgreSQL through a TCP proxy
(`tests.faults.TcpProxy`) that is cut mid-load - listener closed, every connection reset -
and restored on the same port. SQLite: the app runs in this process (uvicorn in a thread,
real HTTP) and its own connections are made to refuse writes, as a full disk
(`max_page_count`) or a read-only file (`query_only`) does (`tests.faults.SqliteFault`; a
chmod would not stop root, nor a process holding the file open).

In both: every webhook answered 200 is in the ledger exactly once (read directly with
`open_store`); every other answer is 503 with `Retry-After`, never a 500 and never a 200 for
a delivery not committed; with the database back, new deliveries succeed without a restart,
redelivering the refused ones fills the gap, and the follower catches the views up to equal
a full rebuild.

Two former gaps are covered too: reads answer 503 (not 500) while PostgreSQL is unreachable,
and a webhook gets its 503 within a sender's timeout (the ingest deadline), not after ~50 s.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from adapters.eventstore.database_url import DatabaseURL
from service_layer.bootstrap import bootstrap
from tests.conftest import PG_DSN, _drop_schema, require_postgres, settings_for
from tests.faults import (
    Answer,
    Delivery,
    Fact,
    SqliteFault,
    TcpProxy,
    ledger_facts,
    post_one,
    send_all,
    serve_in_process,
    server_on,
    signed_deliveries,
    views_probe,
    wait_for_views,
)
from tests.support import AUTH

OUTAGE_SECONDS = 18.0
# eventsourcing retries a failed store call 10 times, each waiting up to the pool timeout
# (POSTGRES_CONNECT_TIMEOUT, 5 s by default): ~50 s before the 503. A 1 s pool timeout (the
# app-prefixed variable eventsourcing reads from the environment) brings it to ~12 s, so the
# outage below fits the CI budget; the default is pinned by the xfail at the end.
FAST_POOL = {"LEADLEDGER_POSTGRES_CONNECT_TIMEOUT": "1"}
SENDER_TIMEOUT = 10.0  # what a webhook sender is assumed to wait for an answer
RECOVERY_SECONDS = 60.0


# -- shared checks -----------------------------------------------------------------------


def refused_properly(answers: Sequence[Answer]) -> list[Answer]:
    """Every answer is a 200 or a 503 with Retry-After; returns the 503s."""
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 503}, statuses  # no 500, no timeout, no cut connection
    refused = [a for a in answers if a.status == 503]
    assert all(a.retry_after for a in refused), [a for a in refused if not a.retry_after]
    return refused


def facts_of(deliveries: Sequence[Delivery], answers: Sequence[Answer]) -> set[Fact]:
    by_index = {d.index: d for d in deliveries}
    return {f for a in answers if a.status == 200 for f in by_index[a.delivery].facts}


def assert_exactly_once(stored: Counter[Fact], facts: set[Fact]) -> None:
    missing_or_twice = {f: stored[f] for f in facts if stored[f] != 1}
    assert missing_or_twice == {}
    assert max(stored.values()) == 1  # nothing anywhere in the ledger twice


def recovery_seconds(base_url: str, probe: Delivery, since: float) -> float:
    """POST `probe` until it is answered 200 (each other answer a 503, as ever); how long
    after `since` that was. Fails after RECOVERY_SECONDS."""
    with httpx.Client(base_url=base_url, timeout=RECOVERY_SECONDS) as client:
        while True:
            answer = post_one(client, probe)
            if answer.status == 200:
                return time.monotonic() - since
            assert answer.status == 503, answer
            assert answer.retry_after, answer
            assert time.monotonic() - since < RECOVERY_SECONDS, "not accepting again"
            time.sleep(0.5)


# -- PostgreSQL, unreachable -------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    schema = f"ll_test_{uuid.uuid4().hex[:12]}"
    yield schema
    _drop_schema(schema)


def pg_url(schema: str, proxy_port: int | None = None) -> str:
    """The test database (`PG_DSN`) in `schema`, directly or through the local proxy."""
    url = DatabaseURL.parse(PG_DSN)
    auth = url.user + (f":{url.password}" if url.password else "")
    where = f"{url.host}:{url.port}" if proxy_port is None else f"127.0.0.1:{proxy_port}"
    return f"postgresql://{auth}@{where}/{url.dbname}?schema={schema}"


def pg_target() -> tuple[str, int]:
    url = DatabaseURL.parse(PG_DSN)
    return url.host, url.port


@pytest.mark.postgres
def test_postgres_outage_answers_503_then_recovers_by_itself(
    tmp_path: Path, pg_schema: str
) -> None:
    deliveries = signed_deliveries(420, leads=40, seed=21)
    warm, load, after = deliveries[:30], deliveries[30:350], deliveries[350:]
    moments: dict[str, float] = {}
    readiness: list[httpx.Response] = []

    with (
        TcpProxy(pg_target()) as proxy,
        server_on(pg_url(pg_schema, proxy.port), tmp_path, "server.log", **FAST_POOL) as server,
    ):
        assert {a.status for a in send_all(server.base_url, warm, workers=4)} == {200}

        def outage() -> None:
            time.sleep(1.0)  # mid-load
            proxy.cut()
            moments["cut"] = time.monotonic()
            with server.client(timeout=60.0) as client:
                readiness.append(client.get("/readyz"))
            time.sleep(max(0.0, moments["cut"] + OUTAGE_SECONDS - time.monotonic()))
            proxy.restore()
            moments["restored"] = time.monotonic()

        chaos = threading.Thread(target=outage, name="outage")
        chaos.start()
        answers = send_all(server.base_url, load, workers=6, timeout=90.0, pace=0.02)
        chaos.join(timeout=OUTAGE_SECONDS + 90.0)
        assert "restored" in moments, "the outage thread did not finish"

        refused = refused_properly(answers)
        [ready] = readiness
        slowest = max((a.seconds for a in refused), default=0.0)
        print(
            f"outage {OUTAGE_SECONDS:.0f} s: {dict(Counter(a.status for a in answers))}, "
            f"503 after at most {slowest:.1f} s, /readyz {ready.status_code}"
        )
        assert refused, server.failure("no 503 during a PostgreSQL outage")
        assert all(a.sent_at + a.seconds >= moments["cut"] for a in refused)
        assert (ready.status_code, ready.headers.get("retry-after")) == (503, "5"), ready.text

        # Back by itself, no restart: a delivery is accepted again within RECOVERY_SECONDS
        # (psycopg_pool reconnects with a backoff of 1, 2, 4, 8 ... s, so a 503 may still
        # come right after the restore), and from then on every one is.
        restored = moments["restored"]
        done = [a.sent_at + a.seconds for a in answers if a.status == 200]
        back = [t - restored for t in done if t >= restored]
        recovered = min(back) if back else recovery_seconds(server.base_url, after[0], restored)
        print(f"accepting again {recovered:.1f} s after the restore")
        late = send_all(server.base_url, after, workers=4)
        assert {a.status for a in late} == {200}, server.failure("no recovery")
        # Kapso retries what was refused: every one of them now lands.
        retried = send_all(server.base_url, [load[a.delivery - 30] for a in refused], workers=4)
        assert {a.status for a in retried} == {200}

        with views_probe(pg_url(pg_schema)) as (views, diff):
            assert wait_for_views(views, RECOVERY_SECONDS) == 0, server.failure("views lag")
            assert views.status().failures == 0
            server.terminate_stopped()
            assert diff() == []

    stored = ledger_facts(pg_url(pg_schema))
    acknowledged = facts_of(deliveries, [*answers, *late, *retried])
    assert_exactly_once(stored, acknowledged)
    assert_exactly_once(stored, {f for d in deliveries for f in d.facts})
    assert proxy.cuts >= 1


@pytest.mark.postgres
def test_reads_answer_503_not_500_while_postgres_is_unreachable(
    tmp_path: Path, pg_schema: str
) -> None:
    [delivery] = signed_deliveries(1, leads=1, seed=22)
    with (
        TcpProxy(pg_target()) as proxy,
        server_on(pg_url(pg_schema, proxy.port), tmp_path, "server.log", **FAST_POOL) as server,
        server.client(timeout=60.0) as client,
    ):
        sent = client.post(delivery.path, content=delivery.body, headers=delivery.headers)
        assert sent.status_code == 200, sent.text
        proxy.cut()
        try:
            resp = client.get("/leads", headers={**AUTH, "Connection": "close"})
        finally:
            proxy.restore()
        assert (resp.status_code, resp.headers.get("retry-after")) == (503, "5"), resp.text


@pytest.mark.postgres
def test_webhook_answers_503_within_a_sender_timeout_while_postgres_is_unreachable(
    tmp_path: Path, pg_schema: str
) -> None:
    warm, delivery = signed_deliveries(2, leads=2, seed=23, duplicate_rate=0.0)
    with (
        TcpProxy(pg_target()) as proxy,
        server_on(pg_url(pg_schema, proxy.port), tmp_path, "server.log") as server,
        server.client(timeout=SENDER_TIMEOUT) as client,
    ):
        assert client.post(warm.path, content=warm.body, headers=warm.headers).status_code == 200
        proxy.cut()
        try:
            resp = client.post(delivery.path, content=delivery.body, headers=delivery.headers)
        finally:
            proxy.restore()
        assert (resp.status_code, resp.headers.get("retry-after")) == (503, "5"), resp.text


# -- SQLite, full or read-only -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["full", "read_only"])
def test_sqlite_full_or_read_only_answers_503_then_recovers(kind: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    services = bootstrap(settings_for(url, tmp_path))
    deliveries = signed_deliveries(220, leads=25, seed=31)
    warm, during, after = deliveries[:40], deliveries[40:140], deliveries[140:]
    try:
        with (
            SqliteFault(kind, services.engines.write) as fault,
            serve_in_process(services) as base_url,
        ):
            assert {a.status for a in send_all(base_url, warm, workers=4)} == {200}
            known = facts_of(deliveries, send_all(base_url, warm, workers=4))

            fault.fail()
            answers = send_all(base_url, during, workers=4)
            with httpx.Client(base_url=base_url, timeout=10.0) as client:
                reads = client.get("/leads", headers=AUTH)
            refused = refused_properly(answers)
            print(f"{kind}: {dict(Counter(a.status for a in answers))}")
            assert refused, f"{kind}: every write was accepted"
            if kind == "read_only":
                # Nothing could be written: only deliveries already in the ledger got a 200.
                assert facts_of(deliveries, answers) <= known
            assert reads.status_code == 200, reads.text  # reads do not need to write

            fault.lift()  # the database takes writes again: no restart
            late = send_all(base_url, after, workers=4)
            assert {a.status for a in late} == {200}
            retried = send_all(base_url, [during[a.delivery - 40] for a in refused], workers=4)
            assert {a.status for a in retried} == {200}
            assert wait_for_views(services.views, RECOVERY_SECONDS) == 0
            assert services.views.status().failures == 0
    finally:
        services.close()

    stored = ledger_facts(url)
    assert_exactly_once(stored, facts_of(deliveries, [*answers, *late, *retried]))
    assert_exactly_once(stored, {f for d in deliveries for f in d.facts})
    with views_probe(url) as (_, diff):
        assert diff() == []
