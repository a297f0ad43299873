"""The server's uvicorn factory leaves its process with the start-up heap frozen and the
collector's serving thresholds (api/http/heap.py): in a process of its own, since both are
process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.cli import projections
from api.heap import SERVING_THRESHOLDS
from tests.faults import server_env

PROBE = """
import gc, json
from api.http.asgi import build
before = gc.get_threshold()
app = build()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_the_asgi_factory_settles_the_heap_for_serving(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert tuple(probe["before"]) != SERVING_THRESHOLDS  # CPython's own, until the factory
    assert tuple(probe["after"]) == SERVING_THRESHOLDS
    assert probe["frozen"] > 10_000  # the libraries' modules, classes and caches


def test_a_projection_worker_settles_its_heap_before_it_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`leadledger projections follow` lives as long as a server: the same settling, once
    the ledger is open and before the follower starts."""
    calls: list[str] = []

    class _Service:
        database_kind = "sqlite"

        def start_following(self) -> None:
            calls.append("follow")

        def close(self) -> None:
            calls.append("close")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(projections, "open_service", lambda: _Service())
    monkeypatch.setattr(projections, "settle_for_serving", lambda: calls.append("settle"))
    monkeypatch.setattr(time, "sleep", interrupted)
    projections.follow_command()
    assert calls == ["settle", "follow", "close"]
