"""bench/native.py: perf's report read into shares by kind of binary (a report perf wrote
for a leadledger server under load, tests/fixtures/perf/), context switches counted from
/proc, and the ingest section's and the aims' text built from them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import native
from bench.aims import native_evidence
from bench.ingest_report import native_split

REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "perf" / "leadledger-report-dso.txt"


def test_a_real_report_is_split_by_kind_of_binary() -> None:
    shares = native.shares_by_kind(REPORT.read_text(encoding="utf-8"))
    assert shares["Python interpreter"] == 50.7
    assert shares["kernel"] == 32.9  # [kernel.kallsyms] and [vdso]
    assert shares["SQLite"] == 6.9  # libsqlite3 and the _sqlite3 module
    assert shares["PostgreSQL driver"] == 0.0  # _psycopg: 0.03
    assert 99.5 <= sum(shares.values()) <= 100.5
    assert list(shares) == [k for k in native.ORDER if k in shares]


def test_kinds_of_binaries() -> None:
    assert native.kind_of("libpython3.11.so.1.0") == "Python interpreter"
    assert native.kind_of("python3.12") == "Python interpreter"
    assert native.kind_of("libpq.so.5.15") == "PostgreSQL driver"
    assert native.kind_of("ld-linux-x86-64.so.2").startswith("C library")
    assert native.kind_of("orjson.cpython-311-x86_64-linux-gnu.so") == native.OTHER


def test_context_switches_count_every_thread_of_the_process() -> None:
    before = native.context_switches(_self())
    napped, counted = threading.Event(), threading.Event()

    def nap() -> None:
        for _ in range(20):
            time.sleep(0.001)  # each sleep is a voluntary switch
        napped.set()
        counted.wait(10)  # alive until counted: an ended thread's switches are gone

    worker = threading.Thread(target=nap)
    worker.start()
    napped.wait(10)
    after = native.context_switches(_self())
    counted.set()
    worker.join()
    assert after - before >= 20


def test_the_process_tree_holds_the_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in native.tree_pids(_self())
    finally:
        child.kill()
        child.wait()


def _self() -> int:
    return os.getpid()


def _group(perf: object, switches: float = 24.0) -> dict[str, dict[str, Any]]:
    def level(app_perf: object, per: float) -> dict[str, object]:
        return {"concurrency": 32, "context_switches_per_request": per, "perf": app_perf}

    return {
        "leadledger": {"levels": [level(perf, switches)]},
        "plain": {"levels": [level({"kernel": 20.0, "SQLite": 30.0}, 4.0)]},
    }


def test_the_ingest_section_shows_the_split_beside_the_plain_tables() -> None:
    shares = native.shares_by_kind(REPORT.read_text(encoding="utf-8"))
    lines = native_split(_group(shares))
    text = "\n".join(lines)
    assert "| kernel | 32.9 | 20.0 |" in text
    assert "| SQLite | 6.9 | 30.0 |" in text
    assert "| context switches per delivery (count, not %) | 24.0 | 4.0 |" in text


def test_without_perf_the_section_says_why_or_nothing() -> None:
    assert "perf_event_paranoid" in "\n".join(
        native_split(_group("perf recorded nothing (perf_event_paranoid?)"))
    )
    group = _group(None)
    for app in group.values():
        for lv in app["levels"]:
            lv.pop("perf")
    assert native_split(group) == []


def test_the_aims_cite_the_kernel_share_and_the_switches() -> None:
    said = native_evidence(_group({"kernel": 33.0, "SQLite": 6.0, "Python interpreter": 51.0}))
    assert "kernel 33 %, SQLite 6 %, Python interpreter 51 %" in said
    assert "24.0 context switches a delivery against 4.0 for the plain table" in said
    assert native_evidence(_group("no perf")) == ""
