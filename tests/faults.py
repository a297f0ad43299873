"""Fault injection shared by the reliability tests and `bench/soak.py`.

- `TcpProxy`: a TCP proxy between the server and PostgreSQL that can be *cut* (listener and
  every connection closed with a reset) and *restored* on the same port.
- `signed_deliveries`: the seeded traffic of `adapters.webhooks.traffic` (Kapso messages, batches,
  delivery reports, Sarah phases), each with the ledger facts it must leave. Sarah's reports
  get an `Idempotency-Key`, so a retry of one is a no-op, like Kapso's natural keys.
- `send_all`: concurrent signed POSTs, every answer (or transport error) recorded.
- `ledger_facts`: the ledger read directly (`adapters.eventstore.store.open_store`), one key per
  fact,
  so "exactly once" is a count.
- `serve_in_process` and `SqliteFault`: the app served by uvicorn in a thread of the test
  process, so a fault (a full or read-only SQLite file) can be put into its own connections.
- `crash_round`: the crash-under-load scenario (SIGKILL mid-load, restart, redeliver, views
  equal a rebuild) returning figures; `tests/e2e/test_crash.py` runs a short round,
  `bench/soak.py` runs many long ones.

Everything here is bounded: sockets and HTTP calls have timeouts, waits have deadlines, and
the server subprocess is killed on the way out (`running_server`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import sqlite3
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import eventsourcing.sqlite as es_sqlite
import httpx
import uvicorn
from sqlalchemy import Engine, event

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.webhooks.traffic import Request, Traffic
from api.http.app import create_app
from domain.lead_events import InboundMessageReceived
from domain.policy import DEFAULT_POLICY_TOML
from domain.reducer import ContactView, Effects, LedgerEvent, MessageEntry
from projections.catchup import LiveViews
from projections.database import make_engines
from projections.source import read_page
from projections.verify import verify
from service_layer.bootstrap import Services
from tests.e2e.test_server import STARTUP_SECONDS, Server, clean_env, free_port, running_server
from tests.support import (
    API_KEY,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    PHONE_NUMBER_ID,
    WORKSPACE,
)

Fact = tuple[str, ...]

# -- a TCP proxy that can be cut --------------------------------------------------------


class TcpProxy:
    """Forward 127.0.0.1:`port` to `target`; `cut()` makes the target unreachable at once
    (new connections refused, established ones reset), `restore()` listens again on the same
    port. Threads only: one accept loop, two pumps per connection."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self.cuts = 0

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        for attempt in range(50):  # restore(): the port may be held for a moment
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self.host, self.port))
            except OSError:
                listener.close()
                if attempt == 49:
                    raise
                time.sleep(0.1)
                continue
            listener.listen(128)
            listener.settimeout(0.1)  # the accept loop notices a cut within 0.1 s
            self.port = int(listener.getsockname()[1])
            with self._lock:
                self._listener = listener
            threading.Thread(
                target=self._accept, args=(listener,), name="proxy-accept", daemon=True
            ).start()
            return

    @property
    def is_up(self) -> bool:
        with self._lock:
            return self._listener is not None

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open) // 2

    def cut(self) -> None:
        """The database becomes unreachable: refuse new connections, reset the others."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = list(self._open), set()
            self.cuts += 1
        if listener is not None:
            listener.close()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        if not self.is_up:
            self.start()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _reset(client)
                    _reset(upstream)
                    return
                self._open.update((client, upstream))
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(src, dst), name="proxy-pump", daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                known = src in self._open or dst in self._open
                self._open.discard(src)
                self._open.discard(dst)
            if known:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)  # pass a clean close on
                _close_later(src, dst)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a lost network or a killed server looks."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _close_later(*sockets: socket.socket) -> None:
    def close() -> None:
        time.sleep(1.0)  # let the other pump drain what is in flight
        for sock in sockets:
            sock.close()

    threading.Thread(target=close, name="proxy-close", daemon=True).start()


# -- deliveries and the facts they leave ------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    index: int
    path: str
    body: bytes
    headers: dict[str, str]
    kind: str  # inbound | batch | delivered | sarah
    facts: frozenset[Fact]


def signed_deliveries(
    count: int, leads: int, seed: int, tag: str = "", duplicate_rate: float = 0.1
) -> list[Delivery]:
    """`count` signed requests of `adapters.webhooks.traffic`; `duplicate_rate` of them exact
    repeats of
    earlier ones (Kapso's retries). `tag` keeps Sarah's keys apart between runs."""
    traffic = Traffic(
        KAPSO_SECRET,
        API_KEY,
        leads=leads,
        seed=seed,
        duplicate_rate=duplicate_rate,
        phone_number_id=PHONE_NUMBER_ID,
    )
    made: list[Delivery] = []
    for index in range(count):
        request = traffic.next()
        headers = dict(request.headers)
        if request.path == "/sarah/state":
            digest = hashlib.sha256(request.body).hexdigest()[:24]
            headers["Idempotency-Key"] = f"sarah-{tag}{digest}"
        made.append(
            Delivery(
                index,
                request.path,
                request.body,
                headers,
                request.fact,
                _facts_of(request, headers),
            )
        )
    return made


def _facts_of(request: Request, headers: dict[str, str]) -> frozenset[Fact]:
    if request.path == "/sarah/state":
        return frozenset({("sarah", headers["Idempotency-Key"])})
    body: dict[str, Any] = json.loads(request.body)
    facts: set[Fact] = set()
    for element in body.get("data") or [body]:
        message = element["message"]
        facts.add(("message", message["id"]))
        if message["kapso"]["direction"] == "outbound":
            facts.add(("status", message["id"], message["kapso"]["status"]))
    return frozenset(facts)


def fact_of(event: LedgerEvent) -> Fact:
    """What makes a stored event one fact: a second event with the same key is a duplicate."""
    data, lead = event.data, str(event.lead_id)
    if event.type in ("InboundMessageReceived", "OutboundMessageSent"):
        return ("message", str(data["message_id"]))
    if event.type == "MessageStatusChanged":
        return ("status", str(data["message_id"]), str(data["status"]))
    if event.type == "SarahPhaseReported" and data.get("idempotency_key"):
        return ("sarah", str(data["idempotency_key"]))
    if event.type == "Registered":
        return ("lead", lead)
    if event.type == "ContactNameReported":  # the traffic gives each lead one name
        return ("name", lead, str(data["name"]))
    if event.type == "ConversationChanged":
        marker = (data.get("detail") or {}).get("since_message_id") or ""
        return ("conversation", lead, str(data["conversation_id"]), str(data["change"]), marker)
    return ("other", event.type, lead, str(event.position))


def ledger_facts(database_url: str) -> Counter[Fact]:
    """Every event of the ledger, read directly from the store, counted by its fact key."""
    store = open_store(DatabaseURL.parse(database_url))
    counts: Counter[Fact] = Counter()
    try:
        after = 0
        while True:
            events, last = read_page(store, after, 2000)
            if last == after:
                return counts
            counts.update(fact_of(e) for e in events)
            after = last
    finally:
        store.close()


# -- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    delivery: int
    status: int | None  # None: no HTTP answer
    error: str | None  # the transport error's class when there is no answer
    retry_after: str | None
    sent_at: float  # monotonic
    seconds: float

    @property
    def connected(self) -> bool:
        """False when the request never reached a server (connection refused)."""
        return self.error != "ConnectError"


def send_all(
    base_url: str,
    deliveries: Sequence[Delivery],
    workers: int,
    timeout: float = 30.0,
    on_answer: Callable[[Answer], None] | None = None,
    keepalive: bool = True,
    pace: float = 0.0,
) -> list[Answer]:
    """POST every delivery from `workers` threads (each with its own client); one Answer per
    delivery, in delivery order. `keepalive=False` opens a connection per request. `pace`:
    seconds each worker waits between its requests."""
    answers: list[Answer | None] = [None] * len(deliveries)
    cursor = iter(range(len(deliveries)))
    lock = threading.Lock()
    limits = httpx.Limits(max_keepalive_connections=workers if keepalive else 0)

    def work() -> None:
        with httpx.Client(base_url=base_url, timeout=timeout, limits=limits) as client:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                answer = post_one(client, deliveries[index], close=not keepalive)
                answers[index] = answer
                if on_answer is not None:
                    on_answer(answer)
                if pace:
                    time.sleep(pace)

    threads = [threading.Thread(target=work, name=f"sender-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 60.0 + len(deliveries) * (timeout + pace))
    assert all(a is not None for a in answers), "a sender thread did not finish"
    return [a for a in answers if a is not None]


def post_one(client: httpx.Client, delivery: Delivery, close: bool = False) -> Answer:
    """One POST; `close`: ask the server to close the connection after answering."""
    started = time.monotonic()
    headers = dict(delivery.headers)
    if close:
        headers["Connection"] = "close"
    try:
        resp = client.post(delivery.path, content=delivery.body, headers=headers)
    except httpx.TransportError as exc:
        return Answer(
            delivery.index, None, type(exc).__name__, None, started, time.monotonic() - started
        )
    return Answer(
        delivery.index,
        resp.status_code,
        None,
        resp.headers.get("retry-after"),
        started,
        time.monotonic() - started,
    )


# -- the server --------------------------------------------------------------------------


def server_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `leadledger serve` subprocess holding the test secrets."""
    return clean_env(
        LEADLEDGER_DATABASE_URL=database_url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={API_KEY}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=KAPSO_SECRET,
        LEADLEDGER_META_APP_SECRET=META_SECRET,
        LEADLEDGER_META_VERIFY_TOKEN=META_VERIFY_TOKEN,
        LEADLEDGER_DATA_DIR=str(workdir),
        **extra,
    )


@contextlib.contextmanager
def server_on(database_url: str, workdir: Path, log_name: str, **extra: str) -> Iterator[Server]:
    """`leadledger serve` on `database_url`, healthy; killed on the way out if still alive."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, workdir, **extra)
    with running_server(env, workdir, workdir / log_name) as server:
        yield server


@contextlib.contextmanager
def views_probe(database_url: str) -> Iterator[tuple[LiveViews, Callable[[], list[str]]]]:
    """A read-side handle on the same database: `LiveViews` (status without catching up)
    and `diff()`, which runs `projections.verify` (a full rebuild compared with live) and
    lists the differences."""
    url = DatabaseURL.parse(database_url)
    store = open_store(url)
    engines = make_engines(url)
    try:
        views = LiveViews(engines, store, DEFAULT_POLICY_TOML)

        def diff() -> list[str]:
            result = verify(engines.write, store)
            return [
                f"{d.table} {d.key} {d.column}: {d.live!r} != {d.rebuilt!r}"
                for d in result.differences
            ]

        yield views, diff
    finally:
        engines.dispose()
        store.close()


def wait_for_views(views: LiveViews, seconds: float) -> int:
    """Poll until the live views reach the ledger head (a follower did it); the lag left."""
    deadline = time.monotonic() + seconds
    lag = views.status().lag
    while lag and time.monotonic() < deadline:
        time.sleep(0.1)
        lag = views.status().lag
    return lag


# -- the app in this process (faults injected into its own connections) -----------------


@contextlib.contextmanager
def serve_in_process(services: Services) -> Iterator[str]:
    """uvicorn in a thread of this process, serving `create_app(services.service)` over real TCP;
    yields the base URL. Stopped (graceful shutdown) on the way out."""
    config = uvicorn.Config(
        create_app(services.service),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        log_config=None,  # leave this process's logging alone
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-in-process", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        assert thread.is_alive(), "the in-process server stopped during start-up"
        assert time.monotonic() < deadline, "the in-process server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


class SqliteFault:
    """Make this process's SQLite files refuse writes, as a full disk or a read-only file
    does, and lift it again - without root, on the store's and the views' own connections.

    - "full": `PRAGMA max_page_count = 1` (clamped to the current size: the file cannot grow,
      SQLite answers SQLITE_FULL "database or disk is full" when a write needs a new page);
    - "read_only": `PRAGMA query_only = 1` (SQLITE_READONLY "attempt to write a readonly
      database", what a read-only file or mount gives).

    Both are per connection, so the PRAGMA runs before every transaction: the event
    store's (eventsourcing's `SQLiteTransaction`) and the views' writer engine's (on pool
    checkout).
    """

    PRAGMAS: ClassVar[dict[str, tuple[str, str]]] = {
        "full": ("PRAGMA max_page_count = 1", "PRAGMA max_page_count = {default}"),
        "read_only": ("PRAGMA query_only = 1", "PRAGMA query_only = 0"),
    }

    def __init__(self, kind: str, views_engine: Engine | None = None) -> None:
        self.kind = kind
        self.views_engine = views_engine
        self.pragma: str | None = None
        with contextlib.closing(sqlite3.connect(":memory:")) as probe:
            default = int(probe.execute("PRAGMA max_page_count").fetchone()[0])
        fail, lift = self.PRAGMAS[kind]
        self._fail, self._lift = fail, lift.format(default=default)
        self._original: Callable[[Any], Any] | None = None

    def __enter__(self) -> SqliteFault:
        self._original = original = es_sqlite.SQLiteTransaction.__enter__
        fault = self

        def enter(transaction: Any) -> Any:
            pragma = fault.pragma
            if pragma is not None:
                transaction.connection._sqlite_conn.execute(pragma)
            return original(transaction)

        es_sqlite.SQLiteTransaction.__enter__ = enter  # type: ignore[method-assign]
        if self.views_engine is not None:
            # On checkout, before the engine's "begin" listener issues BEGIN IMMEDIATE.
            event.listen(self.views_engine, "checkout", self._on_checkout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.views_engine is not None:
            event.remove(self.views_engine, "checkout", self._on_checkout)
        if self._original is not None:
            es_sqlite.SQLiteTransaction.__enter__ = self._original  # type: ignore[method-assign]

    def _on_checkout(self, dbapi_connection: Any, *_: object) -> None:
        if self.pragma is not None:
            dbapi_connection.execute(self.pragma)

    def fail(self) -> None:
        self.pragma = self._fail

    def lift(self) -> None:
        self.pragma = self._lift


# -- crash under load --------------------------------------------------------------------


@dataclass
class RoundResult:
    backend: str
    round: int
    deliveries: int
    acknowledged: int = 0  # 200 before the kill
    lost: int = 0  # acknowledged, but a fact of it missing from the ledger after the kill
    duplicated: int = 0  # facts stored more than once (ever, over the whole ledger)
    server_errors: int = 0  # 5xx answers, before the kill or on redelivery
    no_answer: int = 0  # requests cut by the kill (or refused after it)
    committed_unanswered: int = 0  # no 200, yet stored: committed, the answer lost in the kill
    other: int = 0  # any other status (4xx) - none expected from signed traffic
    added_by_acked_redelivery: int = 0  # events appended by redelivering acknowledged ones
    redelivery_not_200: int = 0
    missing_after_redelivery: int = 0
    view_lag: int = 0  # events the server's follower had not applied after the wait
    view_differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> list[str]:
        checks = {
            "acknowledged deliveries lost": self.lost,
            "facts stored twice": self.duplicated,
            "5xx answers": self.server_errors,
            "unexpected statuses": self.other,
            "events added by redelivering acknowledged ones": self.added_by_acked_redelivery,
            "redeliveries not answered 200": self.redelivery_not_200,
            "facts missing after redelivering everything": self.missing_after_redelivery,
            "events the follower did not project": self.view_lag,
            "view rows differing from a rebuild": len(self.view_differences),
        }
        found = [f"{what}: {count}" for what, count in checks.items() if count]
        return found + self.view_differences[:10]


def crash_round(
    backend: str,
    database_url: str,
    workdir: Path,
    deliveries: Sequence[Delivery],
    kill_after: int,
    workers: int = 8,
    number: int = 1,
    view_wait: float = 30.0,
) -> RoundResult:
    """One crash round on `database_url` (it may already hold earlier rounds' ledger):

    1. start the real server, POST `deliveries` from `workers` threads, SIGKILL it once
       `kill_after` of them were answered 200;
    2. with no server running, read the ledger: every fact of every 200 must be there, and
       no fact twice;
    3. restart, redeliver every acknowledged delivery (nothing may be appended), then every
       delivery (each answered 200; every fact then exactly once);
    4. wait for the server's follower to reach the ledger head, stop the server (SIGTERM),
       and compare the live views with a full rebuild (`projections.verify`).
    """
    started = time.monotonic()
    result = RoundResult(backend, number, len(deliveries))
    acked = 0
    lock = threading.Lock()

    with server_on(database_url, workdir, f"round{number}-killed.log") as server:

        def on_answer(answer: Answer) -> None:
            nonlocal acked
            if answer.status == 200:
                with lock:
                    acked += 1
                    if acked == kill_after:
                        server.process.kill()  # SIGKILL, mid-load

        answers = send_all(server.base_url, deliveries, workers, timeout=30.0, on_answer=on_answer)
        if server.process.poll() is None:  # fewer 200s than kill_after: kill at the end
            server.process.kill()
        server.process.wait(timeout=10)

    acknowledged = [deliveries[a.delivery] for a in answers if a.status == 200]
    result.acknowledged = len(acknowledged)
    result.server_errors = sum(1 for a in answers if a.status is not None and a.status >= 500)
    result.no_answer = sum(1 for a in answers if a.status is None)
    result.other = sum(
        1 for a in answers if a.status is not None and a.status not in (200,) and a.status < 500
    )

    after_kill = ledger_facts(database_url)  # no server running
    result.lost = sum(1 for d in acknowledged if any(after_kill[f] != 1 for f in d.facts))
    covered = {f for d in acknowledged for f in d.facts}
    result.committed_unanswered = sum(
        1
        for a in answers
        if a.status != 200
        and not deliveries[a.delivery].facts <= covered
        and all(after_kill[f] for f in deliveries[a.delivery].facts)
    )
    duplicated = {f for f, n in after_kill.items() if n > 1}

    with server_on(database_url, workdir, f"round{number}-restarted.log") as server:
        again = send_all(server.base_url, acknowledged, workers, timeout=30.0)
        after_acked = ledger_facts(database_url)
        result.added_by_acked_redelivery = sum(after_acked.values()) - sum(after_kill.values())
        everything = send_all(server.base_url, deliveries, workers, timeout=30.0)
        result.redelivery_not_200 = sum(1 for a in [*again, *everything] if a.status != 200)
        result.server_errors += sum(
            1 for a in [*again, *everything] if a.status is not None and a.status >= 500
        )
        with views_probe(database_url) as (views, diff):
            result.view_lag = wait_for_views(views, view_wait)
            server.terminate_stopped()
            result.view_differences = diff()

    final = ledger_facts(database_url)
    duplicated |= {f for f, n in final.items() if n > 1}
    result.duplicated = len(duplicated)
    result.missing_after_redelivery = sum(1 for d in deliveries for f in d.facts if final[f] != 1)
    result.seconds = time.monotonic() - started
    return result


# A projection fault on a chosen event: the reducer's inbound step fails on one text.
POISON = "POISON-PILL"
Handler = Callable[
    [ContactView, LedgerEvent, InboundMessageReceived, Mapping[str, MessageEntry]], Effects
]


def poison(handler: Handler) -> Handler:
    def poisoned(
        view: ContactView,
        event: LedgerEvent,
        fact: InboundMessageReceived,
        state: Mapping[str, MessageEntry],
    ) -> Effects:
        if fact.text == POISON:
            raise RuntimeError("poisoned message text")
        return handler(view, event, fact, state)

    return poisoned
