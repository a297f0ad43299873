"""The throughput bench's bookkeeping: what wrk was sent and answered, the CPU budget's
stages, and the issue's aims read from results. No load is generated here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import budget, wrk_load
from bench.aims import REMEDY, issue_aims
from bench.lag import sustained
from bench.loadgen import Plan
from tests.conftest import examples

SECRET = "s" * 64
ROOT = str(Path(__file__).resolve().parents[2])
SITE = "/venv/lib/python3.11/site-packages"


def records(path: Path) -> list[bytes]:
    """The Lua script's reading of a requests file, in Python."""
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        newline = data.index(b"\n", pos)
        length = int(data[pos:newline])
        out.append(data[newline + 1 : newline + 1 + length])
        pos = newline + 1 + length
    return out


def raw_answer(threads: list[tuple[int, dict[str, int]]]) -> dict[str, Any]:
    return {
        "duration_us": 2_000_000,
        "requests": sum(sum(s.values()) for _, s in threads),
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        "latency_us": {"p50": 1000.0, "p90": 2000.0, "p99": 3000.0, "max": 4000.0, "mean": 1.0},
        "threads": [{"id": i, "sent": s, "statuses": c} for i, (s, c) in enumerate(threads)],
    }


@pytest.fixture
def prepared() -> Any:
    found = wrk_load.prepare(Plan("127.0.0.1", 8000, SECRET, "WT", 3, 1.0), 60, 3)
    yield found
    shutil.rmtree(found.directory, ignore_errors=True)


def test_each_thread_file_holds_its_deliveries_bytes_in_order(prepared: Any) -> None:
    for i, own in enumerate(prepared.per_thread):
        assert records(prepared.directory / f"requests-{i}.bin") == [d.wire for d in own]
    assert sum(len(own) for own in prepared.per_thread) == 60


@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=3, max_size=3))
@settings(max_examples=examples(0.5))
def test_acknowledged_are_each_threads_first_answered_deliveries(
    counts: list[tuple[int, bool]],
) -> None:
    found = wrk_load.prepare(Plan("127.0.0.1", 8000, SECRET, "WH", 3, 1.0), 60, 3)
    try:
        # One connection per thread: answered = sent, or one fewer (in flight at the stop).
        threads = [(sent, {"200": max(0, sent - int(flying))}) for sent, flying in counts]
        level = wrk_load.summarise(raw_answer(threads), found, 0.1)
        expected: set[str] = set()
        for i, (_, answers) in enumerate(threads):
            own = found.per_thread[i]
            expected |= {m for k in range(answers["200"]) for m in own[k % len(own)].message_ids}
        assert level["_acked"] == expected
        assert level["_acked"] <= level["_sent"]
        assert level["ok"] == sum(a["200"] for _, a in threads)
        cycled = any(sent > len(found.per_thread[i]) for i, (sent, _) in enumerate(threads))
        assert level["exhausted"] == cycled
    finally:
        shutil.rmtree(found.directory, ignore_errors=True)


def test_out_of_order_answers_or_a_failure_acknowledge_nothing(prepared: Any) -> None:
    broken = wrk_load.summarise(raw_answer([(5, {"200": 2}), (3, {"200": 3})]), prepared, 0.1)
    assert broken["_acked"] == set()
    assert not broken["answers_in_order"]
    failed = wrk_load.summarise(raw_answer([(3, {"200": 2, "500": 1})]), prepared, 0.1)
    assert failed["_acked"] == set()
    assert failed["statuses"] == {200: 2, 500: 1}


def test_wrk_output_is_read_from_the_scripts_line_only() -> None:
    line = json.dumps(raw_answer([(1, {"200": 1})]))
    assert wrk_load.parse(f"Running 2s test\nWRK_JSON {line}\n")["requests"] == 1
    with pytest.raises(ValueError, match="WRK_JSON"):
        wrk_load.parse("Running 2s test\n  Latency 1ms\n")


def frame(name: str, path: str) -> str:
    return f"{name} ({path}:10)"


def test_a_sample_goes_to_views_whatever_the_view_code_calls() -> None:
    stack = [
        frame("serve", f"{ROOT}/api/cli/main.py"),
        frame("LiveViews._page", f"{ROOT}/projections/catchup.py"),
        frame("Session.execute", f"{SITE}/sqlalchemy/orm/session.py"),
    ]
    assert budget.classify(stack) == "views"
    assert budget.classify(stack[:1] + stack[2:]) == "SQL"


def test_the_innermost_stage_frame_decides_and_waits_are_not_cpu() -> None:
    http = frame("RequestResponseCycle.run_asgi", f"{SITE}/uvicorn/protocols/http/h.py")
    seal = frame("seal", f"{ROOT}/adapters/eventstore/sealing.py")
    assert budget.classify([http, seal]) == "encode+encrypt"
    assert budget.classify([http]) == "HTTP"
    assert budget.classify([http, frame("Lead.receive", f"{ROOT}/domain/lead.py")]) == "HTTP"
    assert budget.classify([frame("run", f"{ROOT}/service_layer/group_commit.py")]) == "other"
    pydantic = frame("BaseModel.__init__", f"{SITE}/pydantic/main.py")
    answer = frame("_accepted", f"{ROOT}/api/http/handlers/webhooks.py")
    reading = frame("_translate_one", f"{ROOT}/adapters/webhooks/kapso.py")
    assert budget.classify([http, answer, pydantic]) == "HTTP"
    assert budget.classify([http, reading, pydantic]) == "translate"
    wait = frame("Condition.wait", "/usr/lib/python3.11/threading.py")
    assert budget.classify([http, wait]) is None


def test_the_plain_tables_steps_have_their_stages() -> None:
    thread = frame("WorkerThread.run", f"{SITE}/anyio/_backends/_asyncio.py")
    baselines = f"{ROOT}/bench/baselines.py"
    record = frame("PlainTable.record", baselines)
    for step, stage in (("verified", "verify"), ("parsed", "translate"), ("write", "SQL")):
        assert budget.classify([thread, record, frame(f"PlainTable.{step}", baselines)]) == stage
    hmac_frame = frame("new", "/root/.pyenv/versions/3.11.7/lib/python3.11/hmac.py")
    assert budget.classify([thread, record, hmac_frame]) == "verify"


@given(
    st.lists(st.tuples(st.sampled_from(sorted(budget.STAGES)), st.integers(1, 40)), min_size=1),
    st.floats(100, 5000),
    st.floats(0.05, 3.0),
)
@settings(max_examples=examples(0.5))
def test_the_stages_add_up_to_the_measured_cpu(
    samples: list[tuple[str, int]], cpu_us: float, profiled_cpu_s: float
) -> None:
    paths = {
        "HTTP": f"{SITE}/starlette/routing.py",
        "verify": f"{ROOT}/adapters/webhooks/signatures.py",
        "translate": f"{ROOT}/adapters/webhooks/kapso.py",
        "encode+encrypt": f"{SITE}/cryptography/aead.py",
        "SQL": f"{SITE}/psycopg/cursor.py",
        "views": f"{ROOT}/projections/writer.py",
        "other": f"{ROOT}/domain/lead.py",
    }
    raw = "\n".join(f"{frame('f', paths[stage])} {count}" for stage, count in samples)
    found = budget.budget(raw, cpu_us, profiled_cpu_s, 100)
    assert sum(found["us"].values()) == pytest.approx(cpu_us)
    assert found["without_gil_us"] <= found["us"]["SQL"] + 1e-9
    assert found["samples"] == sum(count for _, count in samples)


def level(c: int, rate: float, cpu_ms: float) -> dict[str, Any]:
    return {"concurrency": c, "req_per_s": rate, "server_cpu_ms_per_request": cpu_ms}


def results(ledger_rate: float, views_us: float) -> dict[str, Any]:
    us = dict.fromkeys(budget.STAGES, 100.0) | {"views": views_us}
    group = {
        "leadledger": {
            "levels": [level(4, 100, 2.0), level(32, ledger_rate, 2.0)],
            "check": {"ok": True, "lost": 0, "duplicated": 0, "acknowledged_unique": 10},
            "budget": {"us": us, "cpu_us_per_delivery": 2000.0},
        },
        "plain": {
            "levels": [level(4, 200, 0.5), level(32, 1000, 0.5)],
            "budget": {"us": dict.fromkeys(budget.STAGES, 50.0)},
        },
    }
    lag = [
        {"level": "sustained80", "measured": "p99 20 ms", "met": True, "p99_ms": 20.0},
        {"level": "fixed", "measured": "p99 900 ms", "met": False, "p99_ms": 900.0},
    ]
    return {"ingest": {"figures": {"sqlite_x1": group}}, "lag": {"aims": lag}}


def test_a_missed_aim_says_by_how_much_and_names_the_costliest_stage_and_its_remedy() -> None:
    rows = issue_aims(results(ledger_rate=500, views_us=1200))
    ingest = rows[0]
    assert not ingest["met"]
    assert "50 % short (+500 req/s)" in ingest["why"]
    assert "views +1150 µs" in ingest["why"]
    assert REMEDY["views"] in ingest["why"]
    cpu = rows[1]
    assert "4.00x" in cpu["measured"]
    assert "1250 µs per delivery too many" in cpu["why"]
    fixed_lag = rows[3]
    assert "850 ms over" in fixed_lag["why"]


def test_a_met_aim_needs_no_explanation_and_unmeasured_ones_name_their_command() -> None:
    rows = issue_aims(results(ledger_rate=1200, views_us=100))
    assert rows[0]["met"]
    assert rows[0]["why"] == ""
    unmeasured = [r for r in rows if r["measured"].startswith("not measured")]
    assert any("--only projection-processes" in r["measured"] for r in unmeasured)
    assert any("--only rebuild-pg" in r["measured"] for r in unmeasured)


def test_the_projection_processes_aim_is_read_from_its_section() -> None:
    found = results(ledger_rate=1200, views_us=100)
    found["projection-processes"] = {
        "aims": [{"aim": "views keep up", "measured": "2 processes: lag p99 30 ms", "met": True}]
    }
    row = next(r for r in issue_aims(found) if r["aim"].startswith("1 vs 2 projection"))
    assert row["met"]
    assert row["measured"] == "2 processes: lag p99 30 ms"


def test_the_lag_bench_takes_80_percent_of_the_ingest_rate_at_32_connections(
    tmp_path: Path,
) -> None:
    answer = {
        "figures": {"sqlite_x1": {"leadledger": {"levels": [level(4, 90, 1), level(32, 450, 1)]}}}
    }
    path = tmp_path / "ingest.json"
    path.write_text(json.dumps(answer))
    found = sustained(path)
    assert found is not None
    assert found[0] == 450
    assert sustained(tmp_path / "missing.json") is None


def test_a_result_without_the_figures_an_aim_reads_is_shown_not_readable() -> None:
    rows = issue_aims({"rebuild": {"aims": [], "figures": {"events": 10}}})
    rebuild = next(r for r in rows if "not readable" in r["measured"])
    assert "`python -m bench.run --only rebuild`" in rebuild["measured"]
    assert rebuild["met"] is None
