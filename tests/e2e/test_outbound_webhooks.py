"""Signed outbound webhooks from a real `leadledger serve` to a real receiver that fails,
times out, answers 500 and then recovers: every change arrives at least once, in order per
lead, each signature verifies with the `standardwebhooks` package, and the delivery log
shows the attempts. A server killed mid-delivery loses nothing: after a restart the pending
change goes out again."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import database_at
from tests.e2e.test_change_stream import server_env, whole_feed
from tests.e2e.test_server import AUTH, BUDI, Server, eventually, every_sample, post, running_server
from tests.support.webhook_receiver import Receiver, receiving
from tests.support.workspaces import auth

FAST_RETRIES = {
    "LEADLEDGER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "LEADLEDGER_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.3,0.3,0.5,0.5,0.5,0.5",
    "LEADLEDGER_WEBHOOK_TIMEOUT": "1",
    "LEADLEDGER_WEBHOOK_LEASE_SECONDS": "3",
    "LEADLEDGER_CHANGES_POLL": "0.2",
}


def subscribe(client: httpx.Client, receiver: Receiver, **more: Any) -> dict[str, Any]:
    resp = client.post("/subscriptions", json={"url": receiver.url, **more}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    made: dict[str, Any] = resp.json()
    assert made["secret"].startswith("whsec_")
    receiver.secret = made["secret"]
    listed = client.get("/subscriptions", headers=AUTH).json()["subscriptions"]
    assert [s["secret"] for s in listed] == [None]  # shown once
    return made


def post_everything(client: httpx.Client, server: Server) -> None:
    for delivery in every_sample():
        post(client, server, delivery)
    budi = client.get("/leads/by-phone/" + BUDI.replace("+", "%2B"), headers=AUTH).json()
    resp = client.post(
        f"/leads/{budi['lead_id']}/notes",
        json={"content": "call back tomorrow"},
        headers=auth("human"),
    )
    assert resp.status_code == 200, resp.text


def in_order_per_lead(receiver: Receiver, expected: list[dict[str, Any]]) -> None:
    """Every change answered 2xx, and each lead's in ledger order."""
    want: dict[str, list[str]] = defaultdict(list)
    for item in expected:
        want[item["lead_id"]].append(item["id"])
    got: dict[str, list[str]] = defaultdict(list)
    for r in receiver.got:
        if r.answer == "200" and r.change_id not in got[r.lead_id]:
            got[r.lead_id].append(r.change_id)
    assert dict(got) == dict(want)


def test_a_failing_receiver_gets_every_change_signed_and_in_order(
    durable_database_url: str, tmp_path: Path
) -> None:
    env = server_env(durable_database_url, tmp_path, **FAST_RETRIES)
    script = ["cut", "timeout", "500", "200", "500", "500"]
    with (
        receiving(Receiver(script=script)) as receiver,
        running_server(env, tmp_path, tmp_path / "server.log") as server,
        server.client() as c,
    ):
        sub = subscribe(c, receiver, after="0")
        post_everything(c, server)
        expected = whole_feed(c)
        ids = [item["id"] for item in expected]
        eventually(lambda: receiver.delivered(), lambda got: got[-1:] == ids[-1:], 60)
        assert all(r.verified for r in receiver.got), "a signature did not verify"
        # One subscription is served strictly in order: the 2xx answers are the feed itself.
        assert receiver.delivered() == ids
        in_order_per_lead(receiver, expected)
        assert [r.body["data"] for r in receiver.got if r.answer == "200"] == expected

        log = c.get(f"/subscriptions/{sub['id']}/deliveries", headers=AUTH).json()["deliveries"]
        failed = [d for d in log if d["outcome"] == "failed"]
        assert len(failed) == 5
        assert any("500" in (d["error"] or "") for d in failed)
        assert any("Timeout" in (d["error"] or "") for d in failed)
        assert max(d["attempt"] for d in log) >= 3
        assert all(d["latency_ms"] >= 0 for d in log)
        state = c.get(f"/subscriptions/{sub['id']}", headers=AUTH).json()
        assert (state["state"], state["failures"]) == ("active", 0)
        # The last change delivered, or past its whole event once caught up.
        assert state["cursor"] in (ids[-1], ids[-1].split(".")[0])

        # Replay from a cursor: the changes after it go out again, in order.
        middle = ids[len(ids) // 2]
        resp = c.post(f"/subscriptions/{sub['id']}/replay", json={"after": middle}, headers=AUTH)
        assert resp.status_code == 200, resp.text
        tail = ids[len(ids) // 2 + 1 :]
        want = len(ids) + len(tail)
        eventually(lambda: receiver.delivered(), lambda got: len(got) >= want, 30)
        assert receiver.delivered() == ids + tail


def test_a_receiver_failing_for_good_disables_the_subscription(
    durable_database_url: str, tmp_path: Path
) -> None:
    env = server_env(
        durable_database_url,
        tmp_path,
        **{**FAST_RETRIES, "LEADLEDGER_WEBHOOK_RETRY_SCHEDULE": "0.1,0.1"},
    )
    with (
        receiving(Receiver(then="500")) as receiver,
        running_server(env, tmp_path, tmp_path / "server.log") as server,
        server.client() as c,
    ):
        sub = subscribe(c, receiver, after="0", types=["lead.created"])
        post_everything(c, server)

        def state() -> dict[str, Any]:
            found: dict[str, Any] = c.get(f"/subscriptions/{sub['id']}", headers=AUTH).json()
            return found

        disabled = eventually(state, lambda s: s["state"] == "disabled", 30)
        assert disabled["state"] == "disabled"
        assert "3 consecutive failed attempts" in disabled["disabled_reason"]
        assert "HTTP 500" in disabled["disabled_reason"]
        assert len(receiver.got) == 3  # the first try and the two retries, then nothing
        # Replay re-enables it; the receiver works again.
        receiver.then = "200"
        c.post(f"/subscriptions/{sub['id']}/replay", json={"after": "0"}, headers=AUTH)
        created = [i["id"] for i in whole_feed(c) if i["type"] == "lead.created"]
        eventually(lambda: receiver.delivered(), lambda got: got == created, 30)
        assert receiver.delivered() == created
        assert c.delete(f"/subscriptions/{sub['id']}", headers=AUTH).status_code == 200
        assert c.get(f"/subscriptions/{sub['id']}", headers=AUTH).status_code == 404


def test_a_server_killed_mid_delivery_loses_no_pending_change(
    durable_database_url: str, tmp_path: Path
) -> None:
    env = server_env(durable_database_url, tmp_path, **FAST_RETRIES)
    log = tmp_path / "server.log"
    with receiving(Receiver(script=["200", "200", "200", "hold"])) as receiver:
        with running_server(env, tmp_path, log) as server, server.client() as c:
            subscribe(c, receiver, after="0")
            post_everything(c, server)
            expected = whole_feed(c)
            eventually(lambda: len(receiver.got), lambda n: n >= 4, 30)
            assert receiver.got[3].answer == "hold"  # the 4th change is on the wire: kill
            server.process.kill()
            server.process.wait(10)
        receiver.release.set()
        with running_server(env, tmp_path, tmp_path / "again.log") as server:
            ids = [item["id"] for item in expected]
            eventually(lambda: receiver.delivered(), lambda got: got[-1:] == ids[-1:], 60)
        assert receiver.delivered() == ids  # the held change went out again, then the rest
        in_order_per_lead(receiver, expected)
        assert all(r.verified for r in receiver.got)


@pytest.mark.postgres
def test_two_server_processes_send_each_change_once(tmp_path: Path) -> None:
    """Two `leadledger serve` on one PostgreSQL database, both dispatching: the leases
    (FOR UPDATE SKIP LOCKED) make each change go out once per subscription, in order."""
    with database_at("postgres", tmp_path) as url:
        env = server_env(url, tmp_path, **FAST_RETRIES)
        with (
            receiving(Receiver()) as receiver,
            running_server(env, tmp_path, tmp_path / "one.log") as one,
            running_server(env, tmp_path, tmp_path / "two.log") as two,
            one.client() as c1,
            two.client() as c2,
        ):
            subscribe(c1, receiver, after="0")
            for n, delivery in enumerate(every_sample()):  # half to each process
                post(c1 if n % 2 else c2, one if n % 2 else two, delivery)
            post_everything(c2, two)  # again, through the other: a note is new
            expected = whole_feed(c1)
            ids = [item["id"] for item in expected]
            eventually(lambda: receiver.delivered(), lambda got: got[-1:] == ids[-1:], 60)
            time.sleep(1.0)  # a duplicate would arrive now
        assert [r.change_id for r in receiver.got] == ids  # each once, in order
        assert all(r.verified for r in receiver.got)
