"""Throughput with wrk, a compiled load generator: the client never caps the servers.

The Python generator (bench.loadgen) costs about as much CPU per request as the bare
ceiling server itself, so it capped the baselines and understated leadledger's gap to
them. Here the same signed Kapso deliveries (bench.loadgen.deliveries: new messages,
exact repeats, batches) are built and signed before the clock starts and written to
files; wrk's Lua script (bench/wrk_deliveries.lua) cycles over them and counts the
statuses. wrk itself comes from Debian's package (bench/setup.sh installs it).

What was acknowledged: wrk's Lua cannot tie an answer to its request when a thread has
several connections, so each wrk thread gets exactly one connection (threads =
connections): a connection sends its next request only after the answer to the last, so
thread i's first `answered_i` deliveries are exactly the ones it was answered for. The
check (bench.ingest) is then exact: every acknowledged message stored once, nothing stored
that was not sent; requests still in flight when wrk stopped were never acknowledged (the
server may or may not have stored them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import Delivery, Plan, deliveries

SCRIPT = Path(__file__).with_name("wrk_deliveries.lua")
SETUP = Path(__file__).with_name("setup.sh")
MARK = "WRK_JSON "


def wrk_binary() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class Prepared:
    """Deliveries written for wrk: thread i cycles over `per_thread[i]`."""

    directory: Path
    per_thread: list[list[Delivery]]


def prepare(plan: Plan, count: int, threads: int) -> Prepared:
    """Build `count` signed deliveries, dealt round-robin to the threads' files."""
    work = deliveries(plan, max(count, threads))
    directory = Path(tempfile.mkdtemp(prefix="leadledger-wrk-"))
    per_thread = [work[i::threads] for i in range(threads)]
    for i, own in enumerate(per_thread):
        with (directory / f"requests-{i}.bin").open("wb") as out:
            for delivery in own:
                out.write(b"%d\n" % len(delivery.wire) + delivery.wire)
    return Prepared(directory, per_thread)


def handed_out(prepared: Prepared, counts: dict[int, int]) -> list[Delivery]:
    """The first counts[i] deliveries of each thread i, in order (cycling over its file)."""
    out: list[Delivery] = []
    for thread, count in counts.items():
        own = prepared.per_thread[thread]
        out += [own[i % len(own)] for i in range(count)]
    return out


def parse(stdout: str) -> dict[str, Any]:
    """The script's JSON line from wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            found: dict[str, Any] = json.loads(line[len(MARK) :])
            return found
    raise ValueError(f"wrk printed no {MARK.strip()} line:\n{stdout[-2000:]}")


def summarise(raw: dict[str, Any], prepared: Prepared, client_cpu_s: float) -> dict[str, Any]:
    """wrk's answer in the shape bench.ingest reports (rates over wrk's own duration)."""
    wall = raw["duration_us"] / 1e6
    statuses: dict[int, int] = {}
    for thread in raw["threads"]:
        for status, count in thread["statuses"].items():
            statuses[int(status)] = statuses.get(int(status), 0) + count
    sent = handed_out(prepared, {int(t["id"]): int(t["sent"]) for t in raw["threads"]})
    # One connection per thread: its answers are to its first requests, in order.
    answered_by = {int(t["id"]): sum(t["statuses"].values()) for t in raw["threads"]}
    # A thread whose count of requests and answers differ by more than its one request in
    # flight broke that order (never seen): then nothing counts as acknowledged.
    in_order = all(0 <= t["sent"] - answered_by[int(t["id"])] <= 1 for t in raw["threads"])
    acked = handed_out(prepared, answered_by) if statuses.keys() <= {200} and in_order else []
    ok = statuses.get(200, 0)
    answered = sum(statuses.values())
    messages_sent = sum(len(d.message_ids) for d in sent)
    errors = {k: v for k, v in raw["errors"].items() if v and k != "status"}
    lat = {k: v / 1000 for k, v in raw["latency_us"].items()}
    built = sum(len(own) for own in prepared.per_thread)
    return {
        "requests": answered,
        "ok": ok,
        "req_per_s": ok / wall if wall else 0.0,
        # wrk cannot tie an answer to its request: messages/s assumes the answered
        # deliveries carried the sent ones' mean number of messages.
        "msg_per_s": ok * messages_sent / len(sent) / wall if sent and wall else 0.0,
        "latency_ms": lat,
        "client_cpu_pct": 100 * client_cpu_s / wall if wall else 0.0,
        "wall_s": wall,
        "statuses": statuses,
        "errors": errors,
        "in_flight_at_stop": len(sent) - answered,
        "answers_in_order": in_order,
        # A thread that went through its file cycled: its later requests repeat earlier ones.
        "exhausted": any(
            t["sent"] > len(prepared.per_thread[int(t["id"])]) for t in raw["threads"]
        ),
        "built": built,
        "_sent": {i for d in sent for i in d.message_ids},
        "_acked": {i for d in acked for i in d.message_ids},
    }


def run(
    plan: Plan,
    url: str,
    count: int,
    meter: Callable[[], float],
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """One level: `plan.concurrency` connections for `plan.seconds` over `count` deliveries.
    `meter()` is read just before wrk starts and after it ends (the server's CPU seconds):
    the difference is `server_cpu_s`."""
    threads = plan.concurrency  # one connection each: see the module's docstring
    binary = wrk_binary()
    if binary is None:
        raise FileNotFoundError(f"wrk is not installed: run `bash {SETUP}`")
    prepared = prepare(plan, count, threads)
    try:
        return _measure(binary, plan, url, prepared, threads, timeout_s, meter)
    finally:
        shutil.rmtree(prepared.directory, ignore_errors=True)


def _measure(
    binary: str,
    plan: Plan,
    url: str,
    prepared: Prepared,
    threads: int,
    timeout_s: float,
    meter: Callable[[], float],
) -> dict[str, Any]:
    command = [binary, "-t", str(threads), "-c", str(threads)]
    command += ["-d", f"{max(1, round(plan.seconds))}s", "--timeout", f"{round(timeout_s)}s"]
    command += ["-s", str(SCRIPT), url, "--", str(prepared.directory)]
    output = prepared.directory / "wrk.out"
    before, started = meter(), time.perf_counter()
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    # wait4: the CPU wrk itself used, to show the client was not the bottleneck.
    _, status, usage = os.wait4(process.pid, 0)
    server_cpu_s, metered_s = meter() - before, time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = output.read_text(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{text[-2000:]}")
    level = summarise(parse(text), prepared, usage.ru_utime + usage.ru_stime)
    level.update(server_cpu_s=server_cpu_s, metered_s=metered_s)
    return level
