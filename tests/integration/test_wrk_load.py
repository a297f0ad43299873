"""wrk against a real server: the deliveries the bench counts as acknowledged are stored,
and nothing is stored that it did not send (the Lua script's bookkeeping, including the
request wrk asks thread 0 for before any connection, holds against wrk itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import wrk_load
from bench.common import Credentials, database, process_tree_cpu, served
from bench.loadgen import Plan
from bench.stored import stored_messages

pytestmark = pytest.mark.skipif(wrk_load.wrk_binary() is None, reason="wrk is not installed")


@pytest.mark.parametrize("connections", [1, 4])
def test_every_acknowledged_delivery_is_stored_and_nothing_unsent_is(
    tmp_path: Path, connections: int
) -> None:
    creds = Credentials()
    with database(False, "", tmp_path, "wrk") as url:
        with served(url, creds, tmp_path, 1, "plain") as running:
            host, port = running.base.removeprefix("http://").split(":")
            plan = Plan(host, int(port), creds.kapso_secret, "IT", connections, 1.0)
            pid = running.process.pid
            level = wrk_load.run(
                plan, running.base + "/webhook/kapso", 400, lambda: process_tree_cpu(pid)
            )
        rows, stored = stored_messages(url, "plain", tmp_path)
    assert level["statuses"].keys() == {200}
    assert level["answers_in_order"]
    assert level["_acked"], "wrk was answered for no delivery"
    assert level["_acked"] <= stored
    assert stored <= level["_sent"]
    assert rows == len(stored)
    assert level["ok"] == level["requests"]
