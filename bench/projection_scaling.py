"""Live projection throughput on PostgreSQL under a backlog: 1 against 2 projection
processes (`leadledger projections follow`), with LEADLEDGER_PROJECTION_PARTITIONS = the
number of processes (projections/partitioned.py).

Builds (or with --reuse reuses) the synthetic ledger of bench/ledger.py on PostgreSQL,
then for each setting empties the views (a fresh first generation at position 0), starts
the processes and polls until every partition reached the ledger head. The rate is the
events applied over the time from the views' first move to the last partition's arrival
(start-up excluded, the same for both); then `leadledger projections verify` (must be OK).

    python -m bench.projection_scaling            # 100,000 events over 10,000 leads
    python -m bench.projection_scaling --quick    # 20,000 events over 2,000 leads
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.keys.master_key_source import MasterKeySource
from bench.common import DEFAULT_PG, OUT, leadledger_bin, machine
from bench.ledger import ledger
from projections.source import head as ledger_head
from projections.tables import LAYOUT, PREFIX

FULL, QUICK = (100_000, 10_000), (20_000, 2_000)
SETTINGS = (1, 2)  # processes, each setting with as many partitions
POLL = 0.05


def reset_views(dsn: str, schema: str) -> None:
    """Drop the projection state and every view generation: the next process starts the
    views from position 0 (the ledger itself is untouched)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND (table_name = %s OR table_name LIKE %s)",
            (schema, f"{PREFIX}projection_state", f"{PREFIX}%\\_l{LAYOUT}\\_g%"),
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP TABLE IF EXISTS "{schema}"."{name}" CASCADE')


def positions(dsn: str, schema: str) -> list[int]:
    """Every tracking row's position of the active generation ([] before there is one)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            row = conn.execute(
                f'SELECT active_generation FROM "{schema}"."{PREFIX}projection_state"'
            ).fetchone()
            if row is None:
                return []
            table = f"{PREFIX}tracking_l{LAYOUT}_g{row[0]}"
            found = conn.execute(f'SELECT position FROM "{schema}"."{table}"').fetchall()
        except psycopg.errors.UndefinedTable:
            return []
    return [int(p) for (p,) in found]


def cli_env(url: str) -> dict[str, str]:
    """The CLI's environment: this ledger, and the master key this process built it with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(LEADLEDGER_DATABASE_URL=url, LEADLEDGER_DATA_DIR=str(OUT))
    key = MasterKeySource.for_settings(Settings(), DatabaseURL.parse(url)).file
    if key is not None:
        env["LEADLEDGER_MASTER_KEY_FILE"] = str(key.resolve())
    return env


def verify(url: str, timeout: float) -> bool:
    done = subprocess.run(
        [leadledger_bin(), "projections", "verify"],
        env=cli_env(url),
        cwd=OUT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    print(done.stdout[-2000:], done.stderr[-2000:])
    return done.returncode == 0 and done.stdout.lstrip().startswith("OK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, dsn: str, schema: str, processes: int, head: int, timeout: float
) -> dict[str, Any]:
    reset_views(dsn, schema)
    env = cli_env(url)
    env.update(LEADLEDGER_PROJECTION_PARTITIONS=str(processes), LEADLEDGER_POLL_INTERVAL="0.05")
    command = [leadledger_bin(), "projections", "follow"]
    workers = [
        subprocess.Popen(command, env=env, cwd=OUT, stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    started = time.perf_counter()
    moved_at = done_at = None
    cpu: list[float] = []
    try:
        while time.perf_counter() - started < timeout:
            found = positions(dsn, schema)
            now = time.perf_counter()
            if moved_at is None and any(p > 0 for p in found):
                moved_at = now
            if found and min(found) >= head and len(found) == processes:
                done_at = now
                break
            time.sleep(POLL)
        cpu = [cpu_seconds(w.pid) for w in workers]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    if moved_at is None or done_at is None:
        raise SystemExit(f"{processes} process(es) did not reach the head in {timeout:.0f} s")
    seconds = max(done_at - moved_at, POLL)
    return {
        "processes": processes,
        "partitions": processes,
        "seconds": seconds,
        "events_per_s": head / seconds,
        "cpu_seconds": sum(cpu),
        "cpu_per_process": cpu,
    }


def report(figures: dict[str, Any], command: str) -> dict[str, Any]:
    runs = {r["processes"]: r for r in figures["runs"]}
    one, two = runs[1]["events_per_s"], runs[2]["events_per_s"]
    ratio = two / one if one else 0.0
    scale = f"backlog of {figures['events']:,} events over {figures['leads']:,} leads"
    aims = [
        {
            "aim": "Live views under a backlog, 2 projection processes (2 partitions) "
            f"against 1 (postgres, {scale}): views keep up when one process cannot",
            "target": "2 processes apply faster than 1 (> 1.0x)",
            "measured": f"{ratio:.2f}x ({two:,.0f} vs {one:,.0f} events/s)",
            "met": ratio > 1.0,
        },
        {
            "aim": "verify after the 2-process run: the views equal a fresh replay",
            "target": "OK",
            "measured": "OK" if figures["verify_ok"] else "FAILED",
            "met": bool(figures["verify_ok"]),
        },
    ]
    load = ", ".join(f"{x:.1f}" for x in figures["load_average"])
    lines = [
        f"`{command}`: a {scale} on PostgreSQL, applied by `leadledger projections follow` "
        f"processes from position 0 (LEADLEDGER_PROJECTION_PARTITIONS = processes); "
        f"{figures['machine']['nproc']} CPUs, PostgreSQL on the same machine, load average "
        f"{load}.",
        "",
        "| processes | partitions | seconds | events/s | CPU s (all processes) | vs 1 process |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in figures["runs"]:
        lines.append(
            f"| {r['processes']} | {r['partitions']} | {r['seconds']:.1f} | "
            f"{r['events_per_s']:,.0f} | {r['cpu_seconds']:.1f} | "
            f"{r['events_per_s'] / one:.2f}x |"
        )
    lines += [
        "",
        "Each partition (lead-id hash) has its own tracking row; a process takes a "
        "partition's row with `FOR UPDATE SKIP LOCKED`, so two processes apply different "
        "partitions at once instead of one waiting on the other's lock. Each partition reads "
        "every ledger row and decodes only its own leads' events. The change feed shows "
        "items only up to the lowest partition's position, so it keeps ledger order. "
        "PostgreSQL itself shares the 2 CPUs with both processes here.",
    ]
    return {
        "section": "Projection processes: 1 vs 2",
        "command": command,
        "markdown": "\n".join(lines),
        "aims": aims,
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 events, 2,000 leads")
    parser.add_argument("--dsn", default=DEFAULT_PG)
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the built ledger")
    parser.add_argument("--timeout", type=float, default=900, help="per setting, seconds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    events, leads = QUICK if args.quick else FULL
    url, built = ledger(True, args.dsn, events, leads, args.reuse)
    schema = f"ll_bench_ledger_{events}_{leads}"
    store = open_store(DatabaseURL.parse(url))
    try:
        head = ledger_head(store)
    finally:
        store.close()
    runs = [measure(url, args.dsn, schema, n, head, args.timeout) for n in SETTINGS]
    for r in runs:
        print(f"{r['processes']} process(es): {r['events_per_s']:,.0f} events/s", flush=True)
    figures = {
        "events": events,
        "leads": leads,
        "build": built,
        "runs": runs,
        "verify_ok": verify(url, args.timeout),
        "machine": machine(),
        "load_average": os.getloadavg(),
    }
    command = "python -m bench.projection_scaling" + " --quick" * args.quick
    result = report(figures, command)
    print(result["markdown"])
    out = args.out or OUT / "projection-processes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not figures["verify_ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
