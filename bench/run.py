"""The benchmark suite, one command: every bench side by side, then docs/performance.md.

    .venv/bin/python -m bench.run                 # full (≈ 25 min on 2 cores)
    .venv/bin/python -m bench.run --only import   # one section, full size
    .venv/bin/python -m bench.run --quick         # < 2 min, writes bench/out/performance-quick.md
    .venv/bin/python -m bench.run --no-pg         # skip the PostgreSQL sections

Each bench runs as `python -m bench.<name> [--quick] [--pg] --out bench/out/<name>.json`
and answers with {"section", "command", "markdown", "aims", "figures"}; this runner adds
the header of the run (command, date, machine, load average, speed probe before and after).
A full-size run keeps each section's answer in bench/results/<section>.json (committed:
bench/out/ is gitignored scratch), replacing only the sections it ran, then renders
docs/performance.md from all of them (bench/page.py). --quick touches neither.
PostgreSQL sections are on when $LEADLEDGER_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test) answers, unless --no-pg (--pg goes to ingest,
rebuild and queries; lag measures SQLite). Each bench gets at most 90 s with --quick and
20 min in a full run; one that is missing, fails or times out (its process group is
stopped) is reported as not available, with its error and log tail, and the others still
run. Logs: bench/out/<name>[-quick].log. Throughput needs wrk, the CPU budget py-spy and
its split by binary perf: bench/setup.sh installs them where missing (this runner calls it
when wrk is absent); the
rebuild sections are sampled by py-spy too (`--profile`: without it they still run, and say
there is no profile). The
lag section's 80 % level reads leadledger's throughput from this run's ingest answer (from
bench/results/ingest.json when ingest is not part of the run).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import DEFAULT_PG, OUT, ROOT, machine, speed_probe
from bench.ingest import pg_reachable
from bench.page import PAGE, RESULTS, SECTIONS, load_results, render, run_header, save_result
from bench.profiling import py_spy
from bench.wrk_load import SETUP, wrk_binary

PG_REBUILD = ["--events", "200000", "--leads", "20000"]  # bounds the full run's time


def jobs(quick: bool, pg: bool, only: list[str] | None = None) -> dict[str, list[str]]:
    """Each section's module and arguments. Full runs reuse the 1M-event SQLite ledger
    (built once, by rebuild, then read by queries); quick runs stay on SQLite (the time
    budget has no room for PostgreSQL's servers) and build small ledgers of their own.
    A new section: one line here, and its name and title in bench/page.py."""
    q = ["--quick"] if quick else []
    reuse = [] if quick else ["--reuse"]
    # lag's 80 % level: leadledger's throughput from this run's ingest, else the last kept.
    ingest_here = only is None or "ingest" in only
    sustained = OUT / f"ingest{'-quick' if quick else ''}.json" if ingest_here else None
    found = {
        "ingest": ["ingest", *q, *(["--pg"] if pg and not quick else [])],
        "lag": ["lag", *q, "--sustained-from", str(sustained or RESULTS / "ingest.json")],
        # Sampled by py-spy (--profile, not pausing it): the stages of a missed aim.
        "rebuild": ["rebuild", *q, *reuse, "--profile"],
        "queries": ["queries", *q, *reuse],
        "import": ["import_bench", *q],
        "fairness": ["fairness", *q],  # SQLite; `python -m bench.fairness --pg` for PostgreSQL
        # Ingest with a webhook receiver down (SQLite). Full: 5 rounds, since one 10 s
        # window varies by about the aim's own 5 %.
        "outbound": ["outbound", *q, *([] if quick else ["--rounds", "5"])],
        "dashboard": ["dashboard", *q, *reuse],  # full: rebuild's ledger, over HTTP
        "changes": ["changes", *q],  # SSE fan-out and lag, SQLite (bench/changes.py)
    }
    if pg and not quick:
        found["rebuild-pg"] = ["rebuild", "--pg", *PG_REBUILD, "--profile"]
        # 1 vs 2 live projection processes under a backlog (`python -m
        # bench.projection_scaling --quick` alone for a smoke test: too long for --quick).
        found["projection-processes"] = ["projection_scaling", *reuse]
    return found


KEYS = ("section", "command", "markdown", "aims")
TIMEOUT_S = {"quick": 90, "full": 1200}  # per bench: the suite is bounded in time


def stop(bench: subprocess.Popen[bytes]) -> None:
    """SIGTERM the bench's process group (servers stop cleanly), SIGKILL after 30 s."""
    try:
        os.killpg(bench.pid, signal.SIGTERM)
        bench.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(bench.pid, signal.SIGKILL)
        bench.wait()
    except ProcessLookupError:
        pass


def run_bench(
    name: str, job: list[str], quick: bool, log_dir: Path
) -> tuple[dict[str, Any], int | None]:
    """One bench in its own process: its JSON answer, or why there is none; its exit code."""
    module, *arguments = job
    if importlib.util.find_spec(f"bench.{module}") is None:
        return {"error": f"bench/{module}.py does not exist"}, None
    out = log_dir / f"{name}{'-quick' if quick else ''}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", f"bench.{module}", *arguments, "--out", str(out)]
    log = log_dir / f"{name}{'-quick' if quick else ''}.log"
    print(f"== bench.{name}: {' '.join(command[1:])} (log: {log})", flush=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        # Its own process group: on timeout the bench goes with its servers and children.
        bench = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = bench.wait(timeout=TIMEOUT_S["quick" if quick else "full"])
        except subprocess.TimeoutExpired:
            stop(bench)
            code = None
        except BaseException:  # Ctrl-C: the bench's own session would not get it
            stop(bench)
            raise
    seconds = time.perf_counter() - started
    print(f"   done in {seconds:.0f} s, exit code {code}", flush=True)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    try:
        answer: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        why = "timed out" if code is None else f"exit code {code}, no answer ({exc})"
        return {"error": why, "log_tail": tail}, code
    missing = [k for k in KEYS if k not in answer]
    if missing:
        return {"error": f"answer lacks {missing}", "log_tail": tail}, code
    # The answer stays the bench's own: the runner's facts go in the run header.
    return answer, code


def measured(name: str, job: list[str], quick: bool, pg: bool, command: str) -> dict[str, Any]:
    """One section's answer with the header of its run (a section's figures may be
    shown beside others measured on another day, so each carries its own)."""
    load = os.getloadavg()[0]
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # A few seconds of CPU each: the smoke test's time budget has no room for them.
    before = None if quick else speed_probe()
    started = time.perf_counter()
    answer, code = run_bench(name, job, quick, OUT)
    seconds = time.perf_counter() - started
    after = None if quick else speed_probe()
    probe = (before, after)
    answer["run"] = run_header(command, date, machine(), load, probe, seconds, pg, code)
    return answer


def ensure_tools() -> None:
    """wrk and py-spy from bench/setup.sh when either is missing; a failure is reported by
    the sections that need it (no CPU budget without py-spy's samples)."""
    if wrk_binary() is None or py_spy() is None:
        print(f"== wrk or py-spy is missing: bash {SETUP}", flush=True)
        subprocess.run(["bash", str(SETUP)], cwd=ROOT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every bench short: < 2 min")
    parser.add_argument(
        "--pg",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="PostgreSQL sections (default: on when reachable)",
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args()
    pg = pg_reachable(DEFAULT_PG) if args.pg is None else args.pg
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    ensure_tools()
    planned = {
        name: job for name, job in jobs(args.quick, pg, args.only).items() if name in args.only
    }
    skipped = sorted(set(args.only) - set(planned))  # rebuild-pg: full runs with PostgreSQL
    unregistered = sorted(set(skipped) - set(jobs(quick=False, pg=True)))  # no bench yet
    results: dict[str, dict[str, Any]] = {}
    for name, job in planned.items():
        results[name] = measured(name, job, args.quick, pg, command)
        if not args.quick:  # a full-size measurement replaces that section's result only
            save_result(name, results[name])
    seconds = time.perf_counter() - started
    if args.quick:  # a smoke test never reaches docs/ or bench/results/
        target = OUT / "performance-quick.md"
        target.write_text(render(results, quick=True), encoding="utf-8")
    else:
        target = PAGE
        target.write_text(render(load_results()), encoding="utf-8")
    (OUT / f"performance{'-quick' if args.quick else ''}.json").write_text(
        json.dumps({"command": command, "seconds": seconds, "results": results}, indent=2),
        encoding="utf-8",
    )
    failed = [name for name, r in results.items() if "error" in r]
    said = [f"wrote {target} in {seconds:.0f} s; not available: {failed or 'none'}"]
    if postgres_only := sorted(set(skipped) - set(unregistered)):
        said.append(f"not run (full runs with PostgreSQL only): {postgres_only}")
    if unregistered:
        said.append(f"no bench registered yet for: {unregistered}")
    print("; ".join(said))


if __name__ == "__main__":
    main()
