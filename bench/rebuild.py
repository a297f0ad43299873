"""How fast the read models rebuild from the ledger, against how fast the ledger reads.

Builds (or with --reuse reuses) the synthetic ledger of bench/ledger.py, then runs
`leadledger projections rebuild` as a subprocess, first with one process (`--workers 1`;
not with --quick), then as configured (by default on up to 2 cores): wall time, CPU time
of all its processes (`/usr/bin/time -v`) and their summed peak RSS (sampled from /proc).
Then `leadledger projections verify` (must say OK), and in the same run reads every
stored event and decodes it through the store's mapper (the raw read rate the rebuild
is compared with).

    python -m bench.rebuild                  # SQLite, 1,000,000 events over 100,000 leads
    python -m bench.rebuild --quick          # 10,000 events over 1,000 leads
    python -m bench.rebuild --pg --reuse     # PostgreSQL, keep/reuse the built ledger
    python -m bench.rebuild --profile        # also sample the rebuild and its workers (py-spy)
    python -m bench.rebuild --workers 1      # one process (default: the CLI's, up to 2)

Writes the JSON report (`--out`, default bench/out/rebuild-<backend>.json) that
bench/run.py assembles into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, NoResultFound

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.keys.master_key_source import MasterKeySource
from bench.common import DEFAULT_PG, OUT, leadledger_bin, machine
from bench.ledger import drop_pg_ledger, ledger
from bench.process_tree import TreePeak
from bench.profiling import py_spy
from bench.rebuild_report import report
from projections.database import make_engines
from projections.rebuild import drop_generation
from projections.source import select_after
from projections.state import read_state, set_building

READ_PAGE = 5000
FULL = (1_000_000, 100_000)
QUICK = (10_000, 1_000)  # a smoke test: the aims are for 1M events


@dataclass
class Run:
    code: int
    wall: float
    stdout: str
    peak_rss_mb: float | None
    cpu_seconds: float | None
    tree_peak_rss_mb: float | None = None  # every process of the run together
    processes: int = 1


def run_cli(url: str, args: list[str], timeout: float, profile: Path | None = None) -> Run:
    """`leadledger <args>`: wall time, and CPU time and peak RSS of that process from
    `/usr/bin/time -v`; with `profile`, py-spy samples it (attached by pid) into that file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(LEADLEDGER_DATABASE_URL=url, LEADLEDGER_DATA_DIR=str(OUT))
    # The master key this process built the ledger with (PostgreSQL's default key file is
    # in the data directory, which differs between this process and the CLI's).
    key = MasterKeySource.for_settings(Settings(), DatabaseURL.parse(url)).file
    if key is not None:
        env["LEADLEDGER_MASTER_KEY_FILE"] = str(key.resolve())
    timing = OUT / ".time-v.txt"
    timing.unlink(missing_ok=True)
    timed = Path("/usr/bin/time").exists()
    command = [leadledger_bin(), *args]
    if timed:
        command = ["/usr/bin/time", "-v", "-o", str(timing), *command]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=OUT, stdout=subprocess.PIPE, text=True)
    spy = _profile(process.pid if not timed else _child(process.pid), profile)
    tree = TreePeak(process.pid)
    try:
        stdout, _ = process.communicate(timeout=timeout)
    finally:
        tree_peak = tree.stop()
        if spy is not None:
            spy.wait(timeout=60)
    wall = time.perf_counter() - started
    sys.stdout.write(stdout)
    peak, cpu = None, None
    if timing.exists():
        text = timing.read_text()
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak = int(found.group(1)) / 1024 if found else None
        times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
        cpu = sum(float(t) for t in times) if times else None
        timing.unlink()
    # The sampler also counts /usr/bin/time (~2 MB): a little over, never under.
    processes = max(1, tree.most_processes - timed)
    return Run(process.returncode, wall, stdout, peak, cpu, tree_peak, processes)


def _child(pid: int) -> int | None:
    """The process `/usr/bin/time` started (Linux /proc), once it exists."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for _ in range(200):
        try:
            found = children.read_text().split()
        except OSError:
            return None
        if found:
            return int(found[0])
        time.sleep(0.01)
    return None


def _profile(pid: int | None, into: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy on the rebuild and the worker processes it starts, each thread apart, without
    pausing them (--nonblocking: at 100 Hz it costs the run little); None without py-spy."""
    spy = py_spy()
    if pid is None or into is None or spy is None:
        return None
    record = [spy, "record", "--nonblocking", "--subprocesses", "--threads", "-r", "100"]
    record += ["-f", "raw", "-o", str(into)]
    return subprocess.Popen([*record, "--pid", str(pid)], stdout=subprocess.DEVNULL)


def raw_read(url: str) -> dict[str, Any]:
    """Every stored event read in pages of READ_PAGE, then read and decoded through the
    store's mapper (what any consumer of the ledger must at least do)."""
    store = open_store(DatabaseURL.parse(url))
    try:
        count, after, started = 0, 0, time.perf_counter()
        while page := store.recorder.select_notifications(
            start=after, limit=READ_PAGE, inclusive_of_start=False
        ):
            count += len(page)
            after = page[-1].id
        read_seconds = time.perf_counter() - started
        after, started, cpu = 0, time.perf_counter(), time.process_time()
        while page := select_after(store, after, READ_PAGE):
            for notification in page:
                store.mapper.to_domain_event(notification)
            after = page[-1].id
        decode_seconds = time.perf_counter() - started
        decode_cpu = time.process_time() - cpu
        return {
            "events": count,
            "read_seconds": read_seconds,
            "read_events_per_s": count / read_seconds,
            "read_decode_seconds": decode_seconds,
            "read_decode_events_per_s": count / decode_seconds,
            "read_decode_cpu_seconds": decode_cpu,
            "read_decode_events_per_cpu_s": count / decode_cpu,
        }
    finally:
        store.close()


def rebuild_figures(run: Run, events: int) -> dict[str, Any]:
    # The console wraps long lines: any whitespace may separate the words.
    found = re.search(r"(\d+)\s+positions\s+replayed\s+in\s+([\d.]+)\s+s", run.stdout)
    replayed = int(found.group(1)) if found else events
    seconds = float(found.group(2)) if found else run.wall
    return {
        "exit_code": run.code,
        "wall_seconds": run.wall,
        "seconds": seconds,
        "events": replayed,
        "events_per_s": replayed / seconds if seconds else 0.0,
        "cpu_seconds": run.cpu_seconds,
        "events_per_cpu_s": replayed / run.cpu_seconds if run.cpu_seconds else None,
        "peak_rss_mb": run.peak_rss_mb,
        "tree_peak_rss_mb": run.tree_peak_rss_mb,
        "processes": run.processes,
    }


def discard_unfinished_rebuild(url: str) -> None:
    """A rebuild killed earlier (an interrupted bench on a reused ledger) leaves a building
    generation that the next rebuild would resume instead of redo, and time as nothing:
    the timed runs start from none."""
    engines = make_engines(DatabaseURL.parse(url))
    try:
        with engines.write.begin() as conn:
            try:
                building = read_state(conn).building_generation
            except (DBAPIError, NoResultFound):  # no views yet: nothing was built
                return
            set_building(conn, None, None)
        if building is not None:
            print(f"discarding the unfinished rebuild of generation {building}", flush=True)
            drop_generation(engines.write, building)
    finally:
        engines.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events, 1,000 leads")
    parser.add_argument("--events", type=int, help="override the ledger size")
    parser.add_argument("--leads", type=int)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the built ledger")
    parser.add_argument("--profile", action="store_true", help="sample the rebuild (py-spy)")
    parser.add_argument(
        "--workers", type=int, default=0, help="rebuild processes (0: the CLI's default)"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the one-process rebuild run first"
    )
    parser.add_argument("--out", type=Path, help="the JSON report")
    parser.add_argument("--timeout", type=float, default=3600, help="per subprocess, seconds")
    args = parser.parse_args()
    events, leads = QUICK if args.quick else FULL
    events, leads = args.events or events, args.leads or leads
    backend = "postgres" if args.pg else "sqlite"
    m = machine()
    print(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}")
    url, built = ledger(args.pg, args.dsn, events, leads, args.reuse)
    profile = OUT / f"rebuild-{backend}.pyspy.txt" if args.profile else None
    if profile is not None:
        profile.unlink(missing_ok=True)  # an earlier run's samples are not this run's
        if py_spy() is None:
            print("no profile: py-spy is not installed (bash bench/setup.sh)", flush=True)
    discard_unfinished_rebuild(url)
    one = None
    # The comparison matters at size: --quick's ledger is below the parallel threshold.
    if not args.no_compare and not args.quick and args.workers != 1:
        print("$ leadledger projections rebuild --workers 1", flush=True)
        single = run_cli(url, ["projections", "rebuild", "--workers", "1"], args.timeout)
        one = rebuild_figures(single, events)
    print("$ leadledger projections rebuild", flush=True)
    workers = ["--workers", str(args.workers)] if args.workers else []
    run = run_cli(url, ["projections", "rebuild", *workers], args.timeout, profile)
    rebuilt = rebuild_figures(run, events)
    print("$ leadledger projections verify", flush=True)
    checked = run_cli(url, ["projections", "verify"], args.timeout)
    read = raw_read(url)
    figures = {
        "backend": backend,
        "events": events,
        "leads": leads,
        "build": built,
        "rebuild": rebuilt,
        "one_process": one,
        "verify": {
            "ok": checked.code == 0 and checked.stdout.lstrip().startswith("OK"),
            "wall_seconds": checked.wall,
            "output": " ".join(checked.stdout.split()),
        },
        "raw_read": read,
        "ratio_rebuild_to_read_decode": rebuilt["events_per_s"] / read["read_decode_events_per_s"],
        # Per CPU-second: what a shared, loaded machine distorts least.
        "cpu_ratio_rebuild_to_read_decode": (
            (rebuilt["events_per_cpu_s"] or 0.0) / read["read_decode_events_per_cpu_s"]
        ),
        "machine": m,
        "load_average": os.getloadavg(),
    }
    command = "python -m bench.rebuild" + " --quick" * args.quick + " --pg" * args.pg
    result = report(figures, command, profile if profile and profile.exists() else None)
    print(result["markdown"])
    out = args.out or OUT / f"rebuild-{backend}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if args.pg and not args.reuse:
        drop_pg_ledger(args.dsn, events, leads)
    if not figures["verify"]["ok"] or rebuilt["exit_code"] != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
