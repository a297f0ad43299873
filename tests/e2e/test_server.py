"""The real server, end to end: `leadledger serve` as a subprocess, spoken to over TCP.

Runs once on SQLite and once on PostgreSQL (a fresh schema, dropped afterwards; under
CI=true an unreachable PostgreSQL fails instead of skipping). Every shared sample is
posted signed, posted again (and the batch's messages one by one), and the ledger must not
grow; the merged contact view appears; SIGTERM stops the server cleanly. A first-run test
starts it with nothing configured and uses the secrets it prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest

from tests.support import (
    API_KEY,
    KAPSO_RECEIVED,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    WORKSPACE,
    kapso_headers,
    meta_headers,
    received_sample_headers,
    sample,
    sample_json,
)

LEADLEDGER = Path(sys.executable).with_name("leadledger")
STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 20.0
VIEW_WAIT_SECONDS = 10.0
AUTH = {"Authorization": f"Bearer {API_KEY}"}

BUDI = "+6281234567890"
SARI = "+6285712345678"
ANDI = "+6281398765432"
SARAH_SAMPLES = (
    "sarah-phase1-gathering.json",
    "sarah-phase2-interest.json",
    "sarah-phase3-closing.json",
)

T = TypeVar("T")


# -- the server process --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**leadledger: str) -> dict[str, str]:
    """This process's environment without any LEADLEDGER_* variable, plus `leadledger`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(leadledger)
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def failure(self, what: str) -> str:
        return f"{what}\n--- server output ({self.log}) ---\n{self.output()}"

    def client(self, timeout: float = 15.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def terminate(self) -> int:
        """SIGTERM; the exit code. Fails the test unless the process exits in time after a
        graceful shutdown (the application's shutdown ran)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(self.failure(f"no exit within {SHUTDOWN_SECONDS:.0f} s of SIGTERM"))
        assert "Application shutdown complete" in self.output(), self.failure(
            f"exit {code} without a graceful shutdown"
        )
        return code

    def terminate_stopped(self) -> None:
        """SIGTERM; the process stopped gracefully in time, by exit 0 or by the re-raised
        SIGTERM (uvicorn's behaviour; exit 0 itself is checked by test_sigterm_exits_zero)."""
        code = self.terminate()
        assert code in (0, -signal.SIGTERM), self.failure(f"exit {code} after SIGTERM")


def _wait_healthy(server: Server, deadline: float) -> bool:
    """True once /healthz answers 200; False when the process died first."""
    with server.client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if client.get("/healthz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    pytest.fail(server.failure(f"/healthz did not answer within {STARTUP_SECONDS:.0f} s"))


@contextmanager
def running_server(env: dict[str, str], cwd: Path, log: Path) -> Iterator[Server]:
    """`leadledger serve` on a free port, healthy; always killed on the way out.

    A port taken between choosing and binding it (another process's race) is retried.
    """
    for attempt in range(3):
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(LEADLEDGER), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log)
        try:
            if _wait_healthy(server, time.monotonic() + STARTUP_SECONDS):
                yield server
                return
            if "address already in use" not in server.output().lower() or attempt == 2:
                pytest.fail(server.failure(f"server exited with {process.returncode}"))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def eventually(read: Callable[[], T], ok: Callable[[T], bool], seconds: float) -> T:
    """Poll `read` until `ok` holds or the deadline passes; the last value either way."""
    deadline = time.monotonic() + seconds
    value = read()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


# -- deliveries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One signed POST, the lead it concerns and the event types it must append there."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    phone: str
    appends: tuple[str, ...]


def kapso(
    name: str, event: str, key: str, phone: str, appends: tuple[str, ...], batch: bool = False
) -> Delivery:
    body = sample(name)
    headers = kapso_headers(body, event, batch=batch, idempotency_key=key)
    return Delivery(name, "/webhook/kapso", body, headers, phone, appends)


def meta(name: str, appends: tuple[str, ...]) -> Delivery:
    body = sample(name)
    return Delivery(name, "/webhook/meta", body, meta_headers(body), ANDI, appends)


def sarah(name: str, appends: tuple[str, ...]) -> Delivery:
    # Sarah's reports have no natural key: the Idempotency-Key makes a retry a no-op.
    headers = {**AUTH, "Content-Type": "application/json", "Idempotency-Key": f"e2e:{name}"}
    return Delivery(name, "/sarah/state", sample(name), headers, BUDI, appends)


def every_sample() -> list[Delivery]:
    given = received_sample_headers()
    return [
        kapso(
            "kapso-message-received.json",
            given["X-Webhook-Event"],
            given["X-Idempotency-Key"],
            BUDI,
            ("Registered", "ContactNameReported", "InboundMessageReceived", "ConversationChanged"),
        ),
        kapso(
            "kapso-message-delivered.json",
            "whatsapp.message.delivered",
            "e2e-delivered",
            BUDI,
            ("OutboundMessageSent", "MessageStatusChanged", "MessageStatusChanged"),
        ),
        kapso(
            "kapso-conversation-ended.json",
            "whatsapp.conversation.ended",
            "e2e-ended",
            BUDI,
            ("ConversationChanged",),
        ),
        kapso(
            "kapso-message-received-batch.json",
            KAPSO_RECEIVED,
            "e2e-batch",
            SARI,
            (
                "Registered",
                "ContactNameReported",
                "InboundMessageReceived",
                "ConversationChanged",
                "InboundMessageReceived",
            ),
            batch=True,
        ),
        meta(
            "meta-text-message.json",
            ("Registered", "ContactNameReported", "InboundMessageReceived"),
        ),
        meta("meta-status-read.json", ("MessageStatusChanged",)),
        *(sarah(name, ("SarahPhaseReported",)) for name in SARAH_SAMPLES),
    ]


def post(client: httpx.Client, server: Server, delivery: Delivery) -> Any:
    resp = client.post(delivery.path, content=delivery.body, headers=delivery.headers)
    assert resp.status_code == 200, server.failure(
        f"{delivery.name}: {resp.status_code} {resp.text}"
    )
    return resp.json()


def lead_ids_in(answer: Any) -> set[str]:
    if "facts" in answer:
        return {str(f["lead_id"]) for f in answer["facts"]}
    return {str(answer["lead_id"])}


def events_of(client: httpx.Client, lead_id: str) -> list[dict[str, Any]]:
    resp = client.get(f"/leads/{lead_id}/events", headers=AUTH)
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()["events"]
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    return events


def ledger_count(client: httpx.Client, lead_ids: set[str]) -> int:
    return sum(len(events_of(client, lead_id)) for lead_id in sorted(lead_ids))


def listed_lead_ids(client: httpx.Client) -> set[str]:
    resp = client.get("/leads", params={"limit": 200}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return {str(lead["lead_id"]) for lead in resp.json()["leads"]}


# -- the samples, end to end ---------------------------------------------------------------


def test_samples_through_the_real_server(durable_database_url: str, tmp_path: Path) -> None:
    env = clean_env(
        LEADLEDGER_DATABASE_URL=durable_database_url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={API_KEY}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=KAPSO_SECRET,
        LEADLEDGER_META_APP_SECRET=META_SECRET,
        LEADLEDGER_META_VERIFY_TOKEN=META_VERIFY_TOKEN,
        LEADLEDGER_DATA_DIR=str(tmp_path),
    )
    with running_server(env, tmp_path, tmp_path / "server.log") as server, server.client() as c:
        handshake = c.get(
            "/webhook/meta",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": META_VERIFY_TOKEN,
                "hub.challenge": "e2e-challenge",
            },
        )
        assert (handshake.status_code, handshake.text) == (200, "e2e-challenge")

        deliveries = every_sample()
        expected: dict[str, list[str]] = {}
        lead_of: dict[str, str] = {}
        first: list[Any] = []
        for delivery in deliveries:
            answer = post(c, server, delivery)
            first.append(answer)
            [lead_id] = lead_ids_in(answer)
            assert lead_of.setdefault(delivery.phone, lead_id) == lead_id, delivery.name
            expected.setdefault(delivery.phone, []).extend(delivery.appends)
            got = [e["type"] for e in events_of(c, lead_id)]
            assert got == expected[delivery.phone], delivery.name
        lead_ids = set(lead_of.values())
        assert len(lead_ids) == 3
        size = ledger_count(c, lead_ids)
        assert size == 20

        # Kapso's X-Idempotency-Key is recorded on every event of its delivery.
        budi_events = events_of(c, lead_of[BUDI])
        key = received_sample_headers()["X-Idempotency-Key"]
        assert {e["idempotency_key"] for e in budi_events[:4]} == {key}

        # Every delivery again: same answers, nothing appended.
        again = [post(c, server, d) for d in deliveries]
        assert again == first
        assert ledger_count(c, lead_ids) == size

        # The batch's messages one by one, each under a new delivery id: nothing appended.
        batch = sample_json("kapso-message-received-batch.json")["data"]
        for index, element in enumerate(batch):
            body = json.dumps(element).encode()
            single = Delivery(
                f"batch element {index}",
                "/webhook/kapso",
                body,
                kapso_headers(body, KAPSO_RECEIVED, idempotency_key=f"e2e-single-{index}"),
                SARI,
                (),
            )
            facts = [f["fact"] for f in post(c, server, single)["facts"]]
            assert f"message:{element['message']['id']}" in facts
            assert ledger_count(c, lead_ids) == size

        # The merged contact view (Kapso's name, Sarah's data, the implied status).
        def budi() -> dict[str, Any]:
            resp = c.get(f"/leads/by-phone/{quote('0812-3456-7890', safe='')}", headers=AUTH)
            assert resp.status_code == 200, resp.text
            view: dict[str, Any] = resp.json()
            return view

        wanted = {
            "lead_id": lead_of[BUDI],
            "phone": BUDI,
            "name": "Budi Santoso",
            "sarah_name": "Budi",
            "business_type": "online shop",
            "lead_status": "contacted",
        }
        view = eventually(
            budi, lambda v: all(v.get(k) == w for k, w in wanted.items()), VIEW_WAIT_SECONDS
        )
        assert {k: view.get(k) for k in wanted} == wanted

        # The list view reaches every lead, and only them.
        assert eventually(lambda: listed_lead_ids(c), lambda s: s == lead_ids, VIEW_WAIT_SECONDS)
        assert listed_lead_ids(c) == lead_ids

        server.terminate_stopped()


# -- first run -----------------------------------------------------------------------------


def printed(output: str, label: str) -> str:
    """A value of the first-run banner; the console may wrap it onto the next line."""
    match = re.search(rf"{re.escape(label)}:\s+(\S+)", output)
    assert match, f"{label!r} not printed:\n{output}"
    return match.group(1)


def test_first_run_creates_config_and_prints_secrets(tmp_path: Path) -> None:
    with running_server(clean_env(), tmp_path, tmp_path / "server.log") as server:
        config = tmp_path / "data" / "leadledger.toml"
        assert config.is_file(), server.failure("no data/leadledger.toml")
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        output = server.output()
        api_key = printed(output, "API key (shown once)")
        kapso_secret = printed(output, "Kapso webhook secret")
        meta_secret = printed(output, "Meta app secret")
        verify_token = printed(output, "Meta verify token")

        text = config.read_text(encoding="utf-8")
        assert api_key not in text
        doc = tomllib.loads(text)
        [(name, workspace)] = doc["workspaces"].items()
        assert workspace["api_key_sha256"] == [hashlib.sha256(api_key.encode()).hexdigest()]
        assert workspace["kapso_webhook_secrets"] == [kapso_secret]
        assert workspace["meta_app_secrets"] == [meta_secret]
        assert workspace["meta_verify_tokens"] == [verify_token]
        # The only sha256 digest in the file is the key's; nothing else derived from the key.
        assert re.findall(r'"([0-9a-f]{64})"', text).count(workspace["api_key_sha256"][0]) == 1

        with server.client() as c:
            assert c.get("/healthz").status_code == 200
            leads = c.get("/leads", headers={"Authorization": f"Bearer {api_key}"})
            assert leads.status_code == 200, leads.text
            assert leads.json()["leads"] == []
            wrong = c.get("/leads", headers={"Authorization": f"Bearer {api_key}x"})
            assert wrong.status_code == 401
            # The printed webhook secrets and token are the ones the server checks.
            body = sample("kapso-message-received.json")
            resp = c.post(
                "/webhook/kapso",
                content=body,
                headers=kapso_headers(body, KAPSO_RECEIVED, secret=kapso_secret),
            )
            assert resp.status_code == 200, resp.text
            [lead_id] = lead_ids_in(resp.json())
            body = sample("meta-text-message.json")
            resp = c.post("/webhook/meta", content=body, headers=meta_headers(body, meta_secret))
            assert resp.status_code == 200, resp.text
            resp = c.get(
                "/webhook/meta",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": verify_token,
                    "hub.challenge": "42",
                },
            )
            assert (resp.status_code, resp.text) == (200, "42")
            resp = c.get(f"/leads/{lead_id}", headers={"Authorization": f"Bearer {api_key}"})
            assert resp.status_code == 200, resp.text
            assert resp.json()["workspace"] == name
        assert (tmp_path / "data" / "leadledger.db").is_file()
        server.terminate_stopped()
