"""The server's uvicorn factory leaves its process with the start-up heap frozen and the
collector's serving thresholds (api/http/heap.py): in a process of its own, since both are
process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from api.http.heap import SERVING_THRESHOLDS
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
