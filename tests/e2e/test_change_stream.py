"""The change feed's SSE stream against a real `leadledger serve`, with a real SSE client
(httpx-sse): webhooks, Sarah's reports and commands all arrive, each once and in ledger
order; a client that disconnects and resumes with Last-Event-ID loses nothing and repeats
nothing; heartbeats are comment lines; SIGTERM still stops the server with streams open."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.e2e.test_server import (
    AUTH,
    BUDI,
    LEADLEDGER,
    Server,
    clean_env,
    eventually,
    every_sample,
    lead_ids_in,
    post,
    running_server,
)
from tests.support import API_KEY, KAPSO_SECRET, META_SECRET, META_VERIFY_TOKEN, WORKSPACE
from tests.support.workspaces import auth, role_key

STREAM_TIMEOUT = httpx.Timeout(10.0, read=30.0)


def server_env(database_url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return clean_env(
        LEADLEDGER_DATABASE_URL=database_url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={API_KEY}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=KAPSO_SECRET,
        LEADLEDGER_META_APP_SECRET=META_SECRET,
        LEADLEDGER_META_VERIFY_TOKEN=META_VERIFY_TOKEN,
        LEADLEDGER_DATA_DIR=str(tmp_path),
        LEADLEDGER_CONFIG_FILE=str(role_keys(tmp_path / "role-keys.toml")),
        LEADLEDGER_SSE_HEARTBEAT="0.3",
        **more,
    )


def role_keys(path: Path) -> Path:
    """A workspaces file with acme's sarah, human and brain keys (the env key is admin's,
    which may read, subscribe and erase but not report for Sarah or change a status)."""
    path.write_text(
        "".join(
            f'[[workspaces.{WORKSPACE}.keys]]\nrole = "{role}"\nname = "{name}"\n'
            f'key = "{role_key(role)}"\n'
            for role, name in (("sarah", "sarah-bot"), ("human", "ana"), ("brain", "brain-bot"))
        ),
        encoding="utf-8",
    )
    return path


def whole_feed(client: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = ""
    while True:
        resp = client.get("/changes", params={"after": after, "limit": 7}, headers=AUTH)
        assert resp.status_code == 200, resp.text
        page = resp.json()["changes"]
        if not page:
            return items
        items += page
        after = resp.json()["next_cursor"]


class Listener(threading.Thread):
    """A real SSE client, in a thread: keeps every event until the server goes away, or
    until it has `stop_after` events (then it disconnects)."""

    def __init__(
        self, server: Server, last_event_id: str | None = None, stop_after: int = 0
    ) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.headers = {**AUTH, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
        self.stop_after = stop_after
        self.events: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with (
                httpx.Client(base_url=self.server.base_url, timeout=STREAM_TIMEOUT) as client,
                connect_sse(client, "GET", "/changes/stream", headers=self.headers) as source,
            ):
                assert source.response.status_code == 200
                self.connected.set()
                for sse in source.iter_sse():
                    if not sse.data:
                        continue  # a heartbeat: httpx-sse yields it, with the last id
                    self.ids.append(sse.id)
                    self.events.append(json.loads(sse.data))
                    if self.stop_after and len(self.events) >= self.stop_after:
                        return
        except httpx.HTTPError as exc:  # the server stopped: the stream ends
            self.error = exc
        finally:
            self.connected.set()


def test_every_change_once_in_order_and_resume_without_gap(
    durable_database_url: str, tmp_path: Path
) -> None:
    env = server_env(durable_database_url, tmp_path)
    with running_server(env, tmp_path, tmp_path / "server.log") as server, server.client() as c:
        live = Listener(server)
        live.start()
        assert live.connected.wait(10)
        assert live.error is None
        partial = Listener(server, stop_after=5)
        partial.start()
        assert partial.connected.wait(10)

        lead_of: dict[str, str] = {}
        for delivery in every_sample():  # Kapso and Meta webhooks, Sarah's reports
            [lead_id] = lead_ids_in(post(c, server, delivery))
            lead_of.setdefault(delivery.phone, lead_id)
        budi = lead_of[BUDI]
        commands = [
            ("status", {"status": "contacted"}, "human"),
            ("notes", {"content": "call back tomorrow"}, "human"),
            ("status", {"status": "new"}, "brain"),  # under the human's hold: suppressed
        ]
        for path, body, role in commands:
            resp = c.post(f"/leads/{budi}/{path}", json=body, headers=auth(role))
            assert resp.status_code == 200, server.failure(resp.text)

        expected = whole_feed(c)
        types = {item["type"] for item in expected}
        for kind in ("lead.created", "message.received", "sarah.phase", "note.added"):
            assert kind in types
        assert "status.suppressed" in types  # Brain under a human's hold
        partial.join(15)
        assert partial.ids == [item["id"] for item in expected[:5]]
        # Resume where the first connection stopped: the rest, nothing twice.
        resumed = Listener(server, last_event_id=partial.ids[-1], stop_after=len(expected) - 5)
        resumed.start()
        resumed.join(15)
        assert partial.ids + resumed.ids == [item["id"] for item in expected]
        assert partial.events + resumed.events == expected

        eventually(lambda: len(live.events), lambda n: n >= len(expected), 15)
        time.sleep(0.5)  # anything extra would arrive now
        assert live.ids == [item["id"] for item in expected]
        assert live.events == expected

        # ?after= and filters on the stream; a bad cursor is refused before streaming.
        with httpx.Client(base_url=server.base_url, timeout=STREAM_TIMEOUT) as client:
            params = {"types": "note.added", "lead_id": budi, "after": "0"}
            with connect_sse(client, "GET", "/changes/stream", params=params, headers=AUTH) as s:
                first = next(e for e in s.iter_sse() if e.data)
            assert json.loads(first.data)["type"] == "note.added"
            bad = client.get("/changes/stream", params={"after": "x"}, headers=AUTH)
            assert bad.status_code == 422
            assert client.get("/changes/stream").status_code == 401
        server.terminate_stopped()  # open streams do not hold up a graceful stop
        live.join(10)
        assert not live.is_alive()

    # `leadledger changes`: the same items as JSON lines; --follow keeps printing.
    printed = subprocess.run(
        [str(LEADLEDGER), "changes"], env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert printed.returncode == 0, printed.stderr.decode()
    assert [json.loads(line) for line in printed.stdout.decode().splitlines()] == expected
    follow = subprocess.Popen(
        [str(LEADLEDGER), "changes", "--follow", "--after", expected[-3]["id"]],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
    )
    try:
        assert follow.stdout is not None
        lines = [json.loads(follow.stdout.readline()) for _ in range(2)]
        assert lines == expected[-2:]
        time.sleep(1.0)
        assert follow.poll() is None  # still following
    finally:
        follow.terminate()
        follow.wait(10)


def test_heartbeats_are_comment_lines(durable_database_url: str, tmp_path: Path) -> None:
    env = server_env(durable_database_url, tmp_path)
    with (
        running_server(env, tmp_path, tmp_path / "server.log") as server,
        httpx.Client(base_url=server.base_url, timeout=STREAM_TIMEOUT) as client,
        client.stream("GET", "/changes/stream", headers=AUTH) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        started = time.monotonic()
        for line in resp.iter_lines():
            if line.startswith(":"):
                break
        assert time.monotonic() - started < 5
