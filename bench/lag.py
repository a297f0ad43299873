"""Read-your-writes lag of the real server: how long after a webhook's 200 the views show it.

Starts `leadledger serve` on a fresh SQLite file (or, with --pg, a fresh PostgreSQL schema)
and offers a steady --rate of signed Kapso deliveries for --seconds: --probe-rate of them
come from a thread pool here, each the first message of a new lead; the rest come from the
ingest load generator (bench.loadgen, its own process, paced, ~10 % repeats and some
batches). After each probed delivery's 200 the thread polls the lead itself (`--probe
lead`, default: `GET /leads/{lead_id}`) or the list view (`--probe list`: `GET /leads?q=
<the lead's phone digits>`) until it shows the message, and records (visible - 200) in ms.
"Visible" is when the first poll answer that shows it arrived, so each figure is an upper
bound, coarser by up to one poll round trip plus --poll-ms.

    python -m bench.lag                 # SQLite, 500/s for 20 s, probe GET /leads/{id}
    python -m bench.lag --quick         # 500/s for 2 s
    python -m bench.lag --pg --rate 100 --seconds 10 --probe list
    python -m bench.lag --sustained-from bench/out/ingest.json   # and at 80 % of it

With --sustained-from (bench.run passes the ingest section measured earlier in the same
run), a level at 80 % of leadledger's own sustained throughput (its requests/s at 32
connections, SQLite, one process) runs first, each level on a fresh server and ledger.

Writes bench/out/lag-<backend>.json (or --out): the figures, plus the section of
docs/performance.md (`section`, `command`, `markdown`, `aims`, `figures`). The run is
bounded: sending lasts --seconds; each message then has --visible-timeout s to appear.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench import loadgen
from bench.common import (
    DEFAULT_PG,
    OUT,
    Credentials,
    database,
    machine,
    process_tree_cpu,
    served,
    summary,
)
from bench.lag_probe import Probe, Sample, send_one
from bench.lag_report import contract, report

SHARE_OF_SUSTAINED = 0.8  # the level: 80 % of leadledger's own throughput


def sustained(path: Path) -> tuple[float, str] | None:
    """leadledger's requests/s at the aims' level in an ingest section's answer (SQLite, one
    process), and where it came from; None when the file or figure is not there."""
    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
        levels = answer["figures"]["sqlite_x1"]["leadledger"]["levels"]
    except (OSError, ValueError, KeyError):
        return None
    level = min(levels, key=lambda lv: abs(lv["concurrency"] - 32))
    when = answer.get("run", {}).get("date", "this run")
    return float(level["req_per_s"]), (
        f"{level['req_per_s']:.0f}/s at {level['concurrency']} connections ({path.name}, {when})"
    )


def steady_load(
    base: str, creds: Credentials, rate: float, args: argparse.Namespace
) -> tuple[Any, Any] | None:
    """The rest of the offered rate, from bench.loadgen in its own process; None if none.
    Returns once its deliveries are built, so both clocks start together."""
    if rate <= 0:
        return None
    where = httpx.URL(base)
    plan = loadgen.Plan(
        str(where.host),
        int(where.port or 80),
        creds.kapso_secret,
        "G" + uuid.uuid4().hex[:6],
        args.connections,
        args.seconds,
        rate=rate,
    )
    process, receive = loadgen.start(plan, rate)
    if not receive.poll(60) or not receive.recv().get("ready"):
        raise SystemExit("the load generator did not start")
    return process, receive


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = "postgres" if args.pg else "sqlite"
    creds = Credentials()
    run_id = uuid.uuid4().hex[:8].upper()
    probe_rate = min(args.probe_rate, args.rate)
    total = int(probe_rate * args.seconds)
    samples = [Sample(i, i / probe_rate) for i in range(total)]
    workdir = Path(tempfile.mkdtemp(prefix="leadledger-lag-"))
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    try:
        with (
            database(args.pg, args.dsn, workdir) as url,
            served(url, creds, workdir, args.workers) as running,
            httpx.Client(base_url=running.base, timeout=30, limits=limits) as client,
            ThreadPoolExecutor(args.concurrency) as pool,
        ):
            futures: list[Future[Sample]] = []
            print(
                f"{backend}: {args.rate:g} deliveries/s for {args.seconds:g} s: {total} probed "
                f"new leads at {probe_rate:g}/s ({args.concurrency} threads, probe "
                f"{args.probe}), the rest from the load generator, "
                f"at most {args.drain_seconds:g} s more to drain",
                flush=True,
            )
            background = steady_load(running.base, creds, args.rate - probe_rate, args)
            # Who used the CPUs over the level: the server, and the clients beside it (the
            # probe threads here, the load generator's process) on the same machine.
            server_cpu = process_tree_cpu(running.process.pid)
            probes_cpu = _own_cpu()
            start = time.perf_counter()
            abort_at = start + args.seconds + args.drain_seconds
            probe = Probe(
                client,
                creds.api_key,
                args.probe,
                args.poll_ms / 1000,
                args.visible_timeout,
                abort_at,
            )
            for sample in samples:
                sample.scheduled += start
                delay = sample.scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send_one, client, probe, creds, run_id, sample))
            sending_done = time.perf_counter()
            for future in futures:
                future.result()
            finished = time.perf_counter()
            server_cpu = process_tree_cpu(running.process.pid) - server_cpu
            probes_cpu = _own_cpu() - probes_cpu
            load = loadgen.finish(*background) if background else None
        log_tail = (workdir / "server.log").read_text(errors="replace").splitlines()[-40:]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ok = [s for s in samples if s.status == 200]
    seen = [s for s in ok if s.visible is not None]
    lags = [(s.visible - s.answered) * 1000 for s in seen if s.visible is not None]
    latencies = [(s.answered - s.sent) * 1000 for s in ok]
    slips = [(s.sent - s.scheduled) * 1000 for s in samples if s.sent]
    first_sent = min((s.sent for s in ok), default=start)
    last_answer = max((s.answered for s in ok), default=start)
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    skipped = errors.pop("not sent: run deadline", 0)
    cut = errors.pop("probe cut: run deadline", 0)
    probed_per_s = len(ok) / (last_answer - first_sent) if len(ok) > 1 else 0.0
    load_ok = load["statuses"].get(200, 0) if load else 0
    load_per_s = load_ok / load["wall_s"] if load else 0.0
    for status, count in (load or {}).get("statuses", {}).items():
        if status != 200:
            errors[f"load: HTTP {status}"] = count
    for name, count in (load or {}).get("errors", {}).items():
        errors[f"load: {name}"] = count
    return {
        "backend": backend,
        "probe": args.probe,
        "offered_rate_per_s": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "poll_ms": args.poll_ms,
        "messages": total,
        "not_sent_deadline": skipped,
        "probe_cut_deadline": cut,
        "answered_200": len(ok),
        "visible": len(seen),
        "errors": errors,
        "retries": sum(s.retries for s in samples),
        "throughput_per_s": probed_per_s + load_per_s,
        "probed_per_s": probed_per_s,
        "load_per_s": load_per_s,
        "load_latency_ms": summary(load["latencies_ms"]) if load else {},
        "sending_seconds": sending_done - start,
        "total_seconds": finished - start,
        "lag_ms": summary(lags),
        "webhook_latency_ms": summary(latencies),
        "schedule_slip_ms": summary(slips),
        "polls_per_message": sum(s.polls for s in seen) / len(seen) if seen else 0.0,
        "server_cpu_s": server_cpu,
        "client_cpu_s": probes_cpu + (load or {}).get("client_cpu_s", 0.0),
        "machine": machine(),
        "server_log_tail": log_tail if errors else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--quick", action="store_true", help="send for 2 s, drain for 15 s")
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second")
    parser.add_argument(
        "--sustained-from",
        type=Path,
        default=None,
        help="an ingest answer (bench.ingest --out): also run at 80 %% of its leadledger rate",
    )
    parser.add_argument("--seconds", type=float, default=None, help="how long to send (20)")
    parser.add_argument(
        "--probe-rate", type=float, default=50.0, help="of --rate, deliveries/s probed"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="probing threads")
    parser.add_argument("--connections", type=int, default=64, help="load generator connections")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--probe", choices=("list", "lead"), default="lead")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="pause between polls")
    parser.add_argument(
        "--visible-timeout", type=float, default=30.0, help="max seconds to wait per message"
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=None,
        help="after --seconds of sending, stop the run at most this much later "
        "(a backlog not sent by then is counted, not sent)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON output file")
    args = parser.parse_args()
    args.seconds = args.seconds or (2.0 if args.quick else 20.0)
    if args.drain_seconds is None:
        args.drain_seconds = 15.0 if args.quick else 60.0
    if args.rate <= 0 or args.seconds <= 0 or args.concurrency < 1:
        parser.error("--rate, --seconds and --concurrency must be positive")
    levels: list[tuple[str, float]] = []
    found = sustained(args.sustained_from) if args.sustained_from else None
    if found is not None:
        rate, source = found
        levels.append((f"80 % of leadledger's sustained {source}", SHARE_OF_SUSTAINED * rate))
    elif args.sustained_from:
        print(f"no leadledger throughput in {args.sustained_from}: the 80 % level is skipped")
    levels.append(("fixed", args.rate))
    results = []
    for label, rate in levels:
        args.rate = rate
        result = run(args)
        result["level"] = label
        report(result)
        results.append(result)
    answer = contract(results, args, sustained_known=found is not None)
    out = args.out or OUT / f"lag-{results[0]['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    errors = [r for r in results if r["errors"]]
    for result in errors:
        if result["server_log_tail"]:
            print("server log (last lines):\n  " + "\n  ".join(result["server_log_tail"]))
    print(f"wrote {out}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
