"""SSRF at delivery time, with a real `leadledger serve` and real receivers: a receiver
allowed when it subscribed but refused later (the allow-list changed) gets nothing, and
every attempt is logged as refused; a receiver answering with a redirect does not send
the request elsewhere (the redirect is a failed attempt, retried at the same receiver)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_change_stream import server_env, whole_feed
from tests.e2e.test_outbound_webhooks import FAST_RETRIES, post_everything, subscribe
from tests.e2e.test_server import AUTH, eventually, running_server
from tests.support.webhook_receiver import Receiver, receiving

ALLOW = "LEADLEDGER_WEBHOOK_ALLOWED_HOSTS"


def log_of(client: httpx.Client, sub: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"/subscriptions/{sub['id']}/deliveries", headers=AUTH
    ).json()["deliveries"]
    return found


def test_a_receiver_refused_at_delivery_time_gets_nothing(
    durable_database_url: str, tmp_path: Path
) -> None:
    allowed = server_env(durable_database_url, tmp_path, **FAST_RETRIES)
    refused = {k: v for k, v in allowed.items() if k != ALLOW}
    with receiving(Receiver()) as receiver:
        with (
            running_server(allowed, tmp_path, tmp_path / "one.log") as server,
            server.client() as c,
        ):
            sub = subscribe(c, receiver, after="0")
        with (
            running_server(refused, tmp_path, tmp_path / "two.log") as server,
            server.client() as c,
        ):
            post_everything(c, server)
            log = eventually(lambda: log_of(c, sub), lambda found: len(found) >= 2, 30)
            assert len(log) >= 2
            assert all(d["outcome"] == "failed" for d in log)
            assert all("refused" in d["error"] and "127.0.0.1" in d["error"] for d in log)
            assert {d["change_id"] for d in log} == {whole_feed(c)[0]["id"]}  # never past it
        assert receiver.got == []


def test_a_redirect_is_not_followed(durable_database_url: str, tmp_path: Path) -> None:
    env = server_env(durable_database_url, tmp_path, **FAST_RETRIES)
    with (
        receiving(Receiver()) as elsewhere,
        receiving(Receiver(script=["redirect"])) as receiver,
        running_server(env, tmp_path, tmp_path / "server.log") as server,
        server.client() as c,
    ):
        receiver.redirect_to = elsewhere.url
        sub = subscribe(c, receiver, after="0")
        post_everything(c, server)
        ids = [item["id"] for item in whole_feed(c)]
        eventually(lambda: receiver.delivered(), lambda got: got[-1:] == ids[-1:], 60)
        assert receiver.delivered() == ids  # the redirected change again, at the receiver
        assert elsewhere.got == []
        failed = [d for d in log_of(c, sub) if d["outcome"] == "failed"]
        assert [(d["change_id"], d["http_status"]) for d in failed] == [(ids[0], 307)]
