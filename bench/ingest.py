"""Ingest over HTTP: leadledger against a bare ceiling and a plain-table baseline, same run.

For each target (bare, plain, leadledger) it starts the server under the same uvicorn
settings (bench.baselines; `leadledger serve`), warms it up, then drives it with wrk, a
compiled load generator (bench.wrk_load; installed by bench/setup.sh), at each
concurrency for a fixed time: signed Kapso deliveries, mostly new inbound messages across
50,000 leads, ~10 % exact repeats, ~5 % batches of 2-5, built and signed before the clock
starts. It reports requests/s, p50/p99 latency, the server's CPU per delivery (all its
processes) and the ratios leadledger/plain and leadledger/bare per level. Afterwards it
reads the ledger (and the plain table) directly: every delivery sent must be stored
exactly once. A py-spy profile of leadledger and of the plain table at 32 connections
gives the per-delivery CPU budget by stage (bench.budget).

    python -m bench.ingest            # SQLite, 4, 32 and 64 connections, 8 s each
    python -m bench.ingest --pg       # and PostgreSQL with 1, 2 and 4 server processes
    python -m bench.ingest --quick    # 32 connections, 2 s: a smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench import budget, native, profiling, wrk_load
from bench.common import (
    DEFAULT_PG,
    OUT,
    Credentials,
    Running,
    database,
    machine,
    process_tree_cpu,
    served,
)
from bench.ingest_report import section
from bench.loadgen import Plan
from bench.stored import stored_messages

TARGETS = ("bare", "plain", "leadledger")
PROFILED = ("plain", "leadledger")  # the CPU budget table's two columns
AIM_CONNECTIONS = 32  # the concurrency for the aims
# Deliveries are built before the clock starts, enough for ~1.3x the expected rate (4x
# the warm-up's), at most CEILING; wrk cycles over them if they run out (marked *).
CEILING = 100_000
BARE_CEILING = 20_000  # the bare server stores nothing: cycling costs it nothing
FLOOR = 2000.0


def run_id() -> str:
    """Unique per level, so message ids never collide between levels."""
    return uuid.uuid4().hex[:6]


def load(
    server: Running,
    creds: Credentials,
    run: str,
    concurrency: int,
    seconds: float,
    rate: float,
    ceiling: int = CEILING,
    perf_out: Path | None = None,
) -> dict[str, Any]:
    """One level with wrk: its figures, with the server's CPU time and context switches
    (all its processes) and, given `perf_out`, perf's shares of its CPU by binary."""
    host, port = server.base.removeprefix("http://").split(":")
    plan = Plan(host, int(port), creds.kapso_secret, run, concurrency, seconds)
    count = min(ceiling, int(rate * max(1.0, round(seconds)) * 1.3) + 500)
    pid = server.process.pid
    perf = None if perf_out is None else native.record(pid, perf_out)
    switched = native.context_switches(pid)
    level = wrk_load.run(plan, server.base + "/webhook/kapso", count, lambda: process_tree_cpu(pid))
    switched = native.context_switches(pid) - switched
    cpu = level["server_cpu_s"]
    answered = level["requests"]
    level.update(
        concurrency=concurrency,
        # Over the time wrk ran (its start-up included): the server's CPU was counted then.
        server_cpu_pct=100 * cpu / level["metered_s"],
        server_cpu_ms_per_request=1000 * cpu / answered if answered else float("nan"),
        context_switches_per_request=switched / answered if answered else float("nan"),
    )
    if perf is not None and perf_out is not None:
        level["perf"] = native.stop(perf, perf_out)
    return level


def profile(
    running: Running, creds: Credentials, seconds: float, rate: float, workdir: Path
) -> tuple[str, dict[str, Any]]:
    """A level at the aims' concurrency while py-spy samples the thread holding the GIL in
    each of the server's processes: (py-spy's raw output or why there is none, the level)."""
    out = workdir / "profile.txt"
    children = bool(worker_pids(running.process.pid))
    try:
        # It samples past the level's end and is stopped when the level is done: its
        # samples then cover the whole time the server's CPU was measured.
        spy = profiling.record(running.process.pid, seconds + 30, out, children, gil=True)
    except FileNotFoundError as exc:
        return f"error: {exc}", load(running, creds, f"P{run_id()}", AIM_CONNECTIONS, seconds, rate)
    time.sleep(0.5)  # py-spy attaches before the load starts
    level = load(running, creds, f"P{run_id()}", AIM_CONNECTIONS, seconds, rate)
    spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
    _, err = spy.communicate(timeout=60)
    if not out.exists():
        return f"error: {err.decode(errors='replace')[-500:]}", level
    return out.read_text(errors="replace"), level


def worker_pids(pid: int) -> list[str]:
    """The uvicorn worker processes of a server started with --workers > 1."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()
    except OSError:
        return []


def aims_level(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The level at the aims' concurrency (else the nearest one run)."""
    return min(levels, key=lambda lv: abs(lv["concurrency"] - AIM_CONNECTIONS))


def run_target(app: str, pg: bool, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    creds = Credentials()
    workdir = Path(tempfile.mkdtemp(prefix=f"leadledger-ingest-{app}-"))
    sent: set[str] = set()
    acked: set[str] = set()
    failures = 0  # answers other than 200, and socket errors
    in_flight = 0  # sent, not answered when wrk stopped: the server still stores them
    result: dict[str, Any] = {"app": app, "workers": workers}
    try:
        with database(pg, args.dsn, workdir, f"ingest_{app}") as url:
            with served(url, creds, workdir, workers, app) as running:
                done = []
                if args.warmup:  # also tells how many deliveries the levels need
                    done.append(load(running, creds, "W" + run_id(), 4, args.warmup, FLOOR))
                profiling_on = app in PROFILED and args.profile_seconds > 0
                raw, level = "", dict[str, Any]()
                for c in args.concurrency:
                    best_yet = max((lv["req_per_s"] for lv in done), default=FLOOR)
                    estimate = max(FLOOR, 4 * best_yet)
                    if profiling_on and args.profile_inline and c == AIM_CONNECTIONS:
                        # --quick: the aims' level is the profiled one (no time for both)
                        raw, level = profile(running, creds, args.seconds, estimate, workdir)
                        done.append(level)
                        continue
                    run = f"L{c}x{run_id()}"
                    cap = BARE_CEILING if app == "bare" else CEILING
                    # perf at the aims' level (not beside py-spy: the quick run profiles it)
                    perf_out = workdir / "perf.data" if c == AIM_CONNECTIONS else None
                    done.append(load(running, creds, run, c, args.seconds, estimate, cap, perf_out))
                result["levels"] = done[1:] if args.warmup else list(done)
                if profiling_on:
                    if not args.profile_inline:
                        raw, level = profile(running, creds, args.profile_seconds, FLOOR, workdir)
                        done.append(level)
                    backend = "postgres" if pg else "sqlite"
                    kept = OUT / f"profile-ingest-{backend}-{app}-x{workers}.txt"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_text(raw, encoding="utf-8")  # py-spy raw: for a closer look
                    result["profiled_level"] = level
                    at = aims_level(result["levels"])
                    cpu_us = 1000 * at["server_cpu_ms_per_request"]
                    failed = raw.startswith("error: ")
                    result["profile"] = {"error": raw} if failed else profiling.summarise(raw)
                    result["budget"] = {"concurrency": at["concurrency"]} | budget.budget(
                        "" if failed else raw,
                        cpu_us,
                        level.get("server_cpu_s", 0.0),
                        profiling.RATE_HZ,
                    )
                for level in done:
                    sent.update(level.pop("_sent"))
                    acked.update(level.pop("_acked"))
                    failures += level["requests"] - level["ok"] + sum(level["errors"].values())
                    in_flight += level["in_flight_at_stop"]
            if app != "bare":
                rows, distinct = stored_messages(url, app, workdir)
                result["check"] = {
                    "acknowledged_unique": len(acked),
                    "sent_unique": len(sent),
                    "stored_rows": rows,
                    "stored_unique": len(distinct),
                    "lost": len(acked - distinct),
                    "lost_examples": sorted(acked - distinct)[:5],
                    "duplicated": rows - len(distinct),
                    "unknown": len(distinct - sent),
                    "failed_requests": failures,
                    "in_flight_at_stop": in_flight,
                    "ok": not (acked - distinct)
                    and rows == len(distinct)
                    and not (distinct - sent)
                    and failures == 0
                    and bool(acked),
                }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def pg_reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter levels")
    parser.add_argument("--pg", action="store_true", help="add PostgreSQL, 1/2/4 workers")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--dsn", default=DEFAULT_PG)
    parser.add_argument("--concurrency", type=int, nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per level")
    parser.add_argument("--pg-workers", type=int, nargs="+", default=None)
    parser.add_argument(
        "--targets", nargs="+", choices=TARGETS, default=list(TARGETS), help="for a partial look"
    )
    parser.add_argument("--out", type=Path, default=OUT / "ingest.json")
    args = parser.parse_args()
    quick, levels, seconds = args.quick, args.concurrency, args.seconds
    args.concurrency = levels or ([AIM_CONNECTIONS] if quick else [4, AIM_CONNECTIONS, 64])
    args.seconds = seconds or (2.0 if quick else 8.0)
    args.warmup = 0.0 if quick else 2.0
    args.profile_seconds = args.seconds if quick else 8.0
    args.profile_inline = quick
    pg_workers = args.pg_workers or ([1] if quick else [1, 2, 4])
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {}
    if not args.no_sqlite:
        runs["sqlite"] = [one(app, False, args, 1) for app in args.targets]
    if args.pg and pg_reachable(args.dsn):
        # Fewer, shorter levels: three worker counts to cover in a bounded time.
        args.concurrency = levels or [AIM_CONNECTIONS]
        args.seconds = seconds or (2.0 if quick else 6.0)
        args.profile_seconds = 0.0 if quick else 5.0
        runs["postgres"] = [one(app, True, args, w) for w in pg_workers for app in args.targets]
    elif args.pg:
        runs["postgres_unreachable"] = []
    command = " ".join(
        ["python -m bench.ingest", *(["--quick"] if quick else []), *(["--pg"] if args.pg else [])]
    )
    if set(args.targets) != set(TARGETS):  # no ratios without all three
        print(json.dumps(runs, indent=1, default=str)[:3000])
        return
    result = section(runs, command, machine(), time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(result["markdown"])
    print(f"wrote {args.out}")


def one(app: str, pg: bool, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    backend = "postgres" if pg else "sqlite"
    print(f"ingest: {backend} {app} x{workers} workers, levels {args.concurrency}", flush=True)
    started = time.perf_counter()
    result = run_target(app, pg, args, workers)
    print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    for level in result["levels"]:
        lat = level["latency_ms"]
        print(
            f"  c={level['concurrency']:>3} {level['req_per_s']:8.1f} req/s "
            f"{level['msg_per_s']:8.1f} msg/s{'*' if level['exhausted'] else ''} "
            f"p50 {lat['p50']:6.1f} ms p99 {lat['p99']:7.1f} ms "
            f"client CPU {level['client_cpu_pct']:.0f}% server CPU "
            f"{level['server_cpu_pct']:.0f}% ({level['server_cpu_ms_per_request']:.2f} ms/req) "
            f"{level['statuses']} {level['errors'] or ''}",
            flush=True,
        )
    if "check" in result:
        print(f"  check: {result['check']}", flush=True)
    return result


if __name__ == "__main__":
    main()
