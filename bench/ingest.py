"""Ingest over HTTP: leadledger against a bare ceiling and a plain-table baseline, same run.

For each target (bare, plain, leadledger) it starts the server under the same uvicorn
settings (bench.baselines; `leadledger serve`), warms it up, then runs a load generator in
a separate process (bench.loadgen) at increasing concurrency for a fixed time per level:
signed Kapso deliveries, mostly new inbound messages across 50,000 leads, ~10 % exact
repeats, ~5 % batches of 2-5. It reports requests/s, messages/s, p50/p99 latency and the
ratios leadledger/plain and leadledger/bare per level and best against best. Afterwards
it reads the ledger (and the plain table) directly: every acknowledged message must be
stored exactly once. A py-spy profile of the leadledger server at its best concurrency
follows.

    python -m bench.ingest            # SQLite, concurrency 1, 4, 16, 64, 8 s each
    python -m bench.ingest --pg       # and PostgreSQL with 1, 2 and 4 server workers
    python -m bench.ingest --quick    # shorter: for a smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from bench import profiling
from bench.common import (
    DEFAULT_PG,
    OUT,
    Credentials,
    Running,
    database,
    machine,
    process_tree_cpu,
    served,
    summary,
)
from bench.ingest_report import section
from bench.loadgen import Plan, finish, start
from projections.source import read_page

TARGETS = ("bare", "plain", "leadledger")
# Deliveries are built before the clock starts, enough for this many requests/s: at most
# CEILING, else 4x the best rate seen so far (building costs time). A level that runs out
# of deliveries ends early; its rate is still answers over its own wall time.
CEILING = 16000.0
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
    estimate: float,
) -> dict[str, Any]:
    """One level: a fresh generator process (deliveries for `estimate` req/s); its figures,
    with the server's CPU time (all its processes) over the level."""
    base = server.base
    where = urlsplit(base)
    plan = Plan(
        str(where.hostname), int(where.port or 80), creds.kapso_secret, run, concurrency, seconds
    )
    process, receive = start(plan, estimate)
    if not receive.poll(120) or not receive.recv().get("ready"):
        raise SystemExit("the load generator did not start")
    cpu = process_tree_cpu(server.process.pid)
    raw = finish(process, receive)
    cpu = process_tree_cpu(server.process.pid) - cpu
    latencies = raw.pop("latencies_ms")
    answered = len(latencies)
    wall = raw["wall_s"]
    return {
        "concurrency": concurrency,
        "requests": answered,
        "ok": raw["statuses"].get(200, 0),
        "req_per_s": raw["statuses"].get(200, 0) / wall if wall else 0.0,
        "msg_per_s": raw["messages_ok"] / wall if wall else 0.0,
        "latency_ms": summary(latencies),
        "client_cpu_pct": 100 * raw["client_cpu_s"] / wall if wall else 0.0,
        "server_cpu_pct": 100 * cpu / wall if wall else 0.0,
        "server_cpu_ms_per_request": 1000 * cpu / answered if answered else float("nan"),
        **{k: raw[k] for k in ("wall_s", "statuses", "errors", "exhausted", "built")},
        "_acked": raw["acked_ids"],
        "_sent": raw["sent_ids"],
    }


def stored_messages(url: str, app: str) -> tuple[int, set[str]]:
    """(message rows/events, distinct message ids) read straight from the database."""
    parsed = DatabaseURL.parse(url)
    if app == "plain":
        if parsed.kind == "sqlite":
            with sqlite3.connect(str(parsed.path)) as conn:
                ids = [r[0] for r in conn.execute("SELECT message_id FROM messages")]
        else:
            with parsed.connect_postgres() as pg:
                pg.execute(f'SET search_path TO "{parsed.schema}"')
                ids = [str(r[0]) for r in pg.execute("SELECT message_id FROM messages")]
        return len(ids), set(ids)
    store = open_store(parsed)
    ids = []
    try:
        after = 0
        while True:
            events, last = read_page(store, after, 5000)
            if last == after:
                break
            ids += [str(e.data["message_id"]) for e in events if e.type == "InboundMessageReceived"]
            after = last
    finally:
        store.close()
    return len(ids), set(ids)


def profile(
    running: Running,
    creds: Credentials,
    seconds: float,
    concurrency: int,
    workers: int,
    workdir: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load the server at `concurrency` while py-spy samples it; (profile, that level)."""
    out = workdir / "profile.txt"
    try:
        spy = profiling.record(running.process.pid, seconds, out, subprocesses=workers > 1)
    except FileNotFoundError as exc:
        return {"error": str(exc)}, {}
    run = f"P{run_id()}"
    level = load(running, creds, run, concurrency, seconds, FLOOR)
    _, err = spy.communicate(timeout=seconds + 60)
    if not out.exists():
        return {"error": err.decode(errors="replace")[-500:]}, level
    return profiling.summarise(out.read_text(errors="replace")), level


def run_target(app: str, pg: bool, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    creds = Credentials()
    workdir = Path(tempfile.mkdtemp(prefix=f"leadledger-ingest-{app}-"))
    levels: list[dict[str, Any]] = []
    acked: set[str] = set()
    sent: set[str] = set()
    failures = 0  # answers other than 200, and transport errors
    result: dict[str, Any] = {"app": app, "workers": workers}
    try:
        with database(pg, args.dsn, workdir, f"ingest_{app}") as url:
            with served(url, creds, workdir, workers, app) as running:
                levels_to_run = [load(running, creds, "W" + run_id(), 4, args.warmup, CEILING)]
                for c in args.concurrency:
                    best_yet = max(lv["req_per_s"] for lv in levels_to_run)
                    estimate = min(CEILING, max(FLOOR, 4 * best_yet))
                    run = f"L{c}x{run_id()}"
                    levels_to_run.append(load(running, creds, run, c, args.seconds, estimate))
                for level in levels_to_run:
                    acked.update(level.pop("_acked"))
                    sent.update(level.pop("_sent"))
                    failures += level["requests"] - level["ok"] + sum(level["errors"].values())
                levels = levels_to_run[1:]
                best = max(levels, key=lambda lv: lv["req_per_s"])
                if app == "leadledger" and args.profile_seconds > 0:
                    prof, level = profile(
                        running, creds, args.profile_seconds, best["concurrency"], workers, workdir
                    )
                    result["profile"] = prof
                    if level:
                        acked.update(level.pop("_acked"))
                        sent.update(level.pop("_sent"))
                        result["profiled_level"] = level
            if app != "bare":
                rows, distinct = stored_messages(url, app)
                result["check"] = {
                    "acknowledged_unique": len(acked),
                    "stored_rows": rows,
                    "stored_unique": len(distinct),
                    "lost": len(acked - distinct),
                    "duplicated": rows - len(distinct),
                    "unknown": len(distinct - sent),
                    "failed_requests": failures,
                    "ok": not (acked - distinct)
                    and rows == len(distinct)
                    and not (distinct - sent)
                    and failures == 0
                    and bool(acked),
                }
        result["levels"] = levels
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
    args.concurrency = levels or ([4, 32] if quick else [1, 4, 16, 64])
    args.seconds = seconds or (1.5 if quick else 8.0)
    args.warmup = 0.5 if quick else 2.0
    args.profile_seconds = 0.0 if quick else 8.0
    pg_workers = args.pg_workers or ([1] if quick else [1, 2, 4])
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {}
    if not args.no_sqlite:
        runs["sqlite"] = [one(app, False, args, 1) for app in args.targets]
    if args.pg and pg_reachable(args.dsn):
        # Fewer, shorter levels: three worker counts to cover in a bounded time.
        args.concurrency = levels or ([32] if quick else [4, 16, 64])
        args.seconds = seconds or (1.5 if quick else 6.0)
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
            f"{level['msg_per_s']:8.1f} msg/s p50 {lat['p50']:6.1f} ms p99 {lat['p99']:7.1f} ms "
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
