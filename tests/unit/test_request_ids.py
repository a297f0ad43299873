"""New request ids: 32 hex digits, never repeated in a process, different between
processes; a caller's sane id is kept as sent."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from api.http.observability import request_id_from


def test_new_ids_are_hex_and_never_repeat_across_threads() -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: request_id_from(None), range(20_000)))
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_another_process_makes_other_ids() -> None:
    code = "from api.http.observability import request_id_from; print(request_id_from(None))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", other)
    assert other[:20] != request_id_from(None)[:20]


def test_a_sane_id_is_kept_and_an_insane_one_replaced() -> None:
    assert request_id_from("trace-1.2_3") == "trace-1.2_3"
    assert request_id_from("no spaces") != "no spaces"
    assert request_id_from("x" * 129) != "x" * 129
