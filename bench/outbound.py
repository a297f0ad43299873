"""Ingest while an outbound webhook receiver is down: throughput against no subscriber.

    .venv/bin/python -m bench.outbound [--quick] [--out FILE]

One `leadledger serve` (SQLite, one worker) with the same settings throughout: receivers
on 127.0.0.1 allowed, a retry after every 0.5 s (far harsher than the default schedule, so
the dispatcher keeps trying during the whole window) and a 2 s delivery timeout. The load
generator of bench.ingest (signed Kapso deliveries, keep-alive, its own process) runs one
window per condition, in rounds, the order rotated each round so the machine's drift falls
on every condition alike:

- `none`: no subscription;
- `dead`: one subscription to a port nothing listens on (connection refused);
- `slow`: one subscription to a receiver that accepts and never answers (each attempt
  waits out the timeout).

A subscription is made at the start of its window (from the feed's end: it is due as soon
as the first change lands) and deleted after it; its delivery log says how many attempts
the dispatcher made meanwhile (none would mean the condition measured nothing). Reported:
each condition's deliveries/s over all its windows and its ratio to `none`, and the
server's CPU time per delivery (less sensitive to other work on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import profiling
from bench.common import OUT, Credentials, Running, database, free_port, served
from bench.ingest import CEILING, load, run_id
from bench.outbound_report import section

CONDITIONS = ("none", "dead", "slow")
SETTINGS = {
    "LEADLEDGER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "LEADLEDGER_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.5"] * 10_000),  # never disabled here
    "LEADLEDGER_WEBHOOK_TIMEOUT": "2",
}


@dataclass
class Silent:
    url: str = ""
    accepted: int = 0  # connections: the dispatcher's attempts, logged only once timed out


@contextmanager
def silent_receiver() -> Iterator[Silent]:
    """A receiver that accepts every connection and never answers (held until the end)."""
    silent = Silent()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            silent.accepted += 1

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        silent.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        yield silent
    finally:
        stopping.set()
        listener.close()
        for conn in held:
            conn.close()


def subscribe(client: httpx.Client, url: str) -> str:
    resp = client.post("/subscriptions", json={"url": url})
    resp.raise_for_status()
    return str(resp.json()["id"])


def attempts(client: httpx.Client, sub_id: str) -> dict[str, int]:
    log = client.get(f"/subscriptions/{sub_id}/deliveries").json()["deliveries"]
    return {
        "attempts": len(log),
        "delivered": sum(1 for d in log if d["outcome"] == "delivered"),
    }


def window(
    server: Running,
    creds: Credentials,
    client: httpx.Client,
    receiver: str | Silent | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One condition's window: its subscription (if any) for the load's whole time."""
    url = receiver.url if isinstance(receiver, Silent) else receiver
    connections = receiver.accepted if isinstance(receiver, Silent) else 0
    sub_id = None if url is None else subscribe(client, url)
    level = load(server, creds, "O" + run_id(), args.concurrency, args.seconds, CEILING)
    for private in ("_acked", "_sent"):
        level.pop(private)
    if sub_id is not None:
        level["subscription"] = attempts(client, sub_id)
        if isinstance(receiver, Silent):  # its attempts still waiting are tries too
            opened = receiver.accepted - connections
            level["subscription"]["attempts"] = max(level["subscription"]["attempts"], opened)
        client.delete(f"/subscriptions/{sub_id}").raise_for_status()
    return level


# A server stack is the dispatcher's when one of these runs in it (its thread, the queries
# it hands to worker threads); one waiting in its event loop's select is idle, not work.
DISPATCHER = ("webhook_dispatcher.py", "subscription_leases.py", "adapters/outbound/")
DISPATCHER_READS = ("ChangeFeed.page", "ChangeFeed.heads")
IDLE = "selectors.py"


def dispatcher_share(raw: str) -> dict[str, Any]:
    """The share of the server's sampled stacks that are the dispatcher at work."""
    total = mine = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        frames = stack.split(";")
        working = IDLE not in frames[-1]
        if working and any(key in stack for key in DISPATCHER + DISPATCHER_READS):
            mine += int(count)
    return {"samples": total, "dispatcher_pct": round(100 * mine / total, 2) if total else None}


def profiled(
    server: Running, creds: Credentials, client: httpx.Client, dead: str, seconds: float
) -> dict[str, Any]:
    """One more window with the refusing receiver while py-spy samples the server's
    GIL-holding thread (its Python work; SQLite's own work runs without the GIL)."""
    out = OUT / "outbound-profile.txt"
    out.unlink(missing_ok=True)
    binary = profiling.py_spy()
    if binary is None:
        return {"error": "py-spy is not installed"}
    # --gil: only the thread holding the GIL is sampled, so a thread waiting for it (which
    # a busy 2-CPU machine makes every thread do) is not counted as working. Blocking
    # sampling (--nonblocking misreads the GIL's holder): this window is not measured.
    command = [binary, "record", "--pid", str(server.process.pid), "--gil"]
    command += ["--duration", str(round(seconds)), "--rate", "100", "--format", "raw"]
    command += ["--full-filenames", "--output", str(out)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sub_id = subscribe(client, dead)
    load(server, creds, "P" + run_id(), 16, seconds, CEILING)
    _, err = spy.communicate(timeout=seconds + 60)
    client.delete(f"/subscriptions/{sub_id}").raise_for_status()
    if not out.exists():
        return {"error": err.decode(errors="replace")[-300:]}
    return dispatcher_share(out.read_text(errors="replace"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    creds = Credentials()
    workdir = Path(tempfile.mkdtemp(prefix="leadledger-outbound-"))
    windows: dict[str, list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
    profile: dict[str, Any] | None = None
    try:
        with (
            database(False, "", workdir, "outbound") as url,
            served(url, creds, workdir, 1, settings=SETTINGS) as server,
            silent_receiver() as slow,
            httpx.Client(
                base_url=server.base,
                headers={"Authorization": f"Bearer {creds.api_key}"},
                timeout=30,
            ) as client,
        ):
            dead = f"http://127.0.0.1:{free_port()}/hook"  # freed at once: refused
            receivers: dict[str, str | Silent | None] = {"none": None, "dead": dead, "slow": slow}
            load(server, creds, "W" + run_id(), args.concurrency, args.warmup, CEILING)
            for n in range(args.rounds):
                order = CONDITIONS[n % 3 :] + CONDITIONS[: n % 3]
                for condition in order:
                    level = window(server, creds, client, receivers[condition], args)
                    windows[condition].append(level)
                    print(
                        f"round {n + 1} {condition:>4}: {level['req_per_s']:8.1f} req/s "
                        f"{level['statuses']} {level.get('subscription', '')}",
                        flush=True,
                    )
            if not args.quick:
                profile = profiled(server, creds, client, dead, args.seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "backend": "sqlite",
        "concurrency": args.concurrency,
        "seconds_per_window": args.seconds,
        "rounds": args.rounds,
        "conditions": {c: totals(windows[c]) for c in CONDITIONS},
        "profile": profile,
    }


def totals(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """A condition over all its windows: deliveries/s, failures, the dispatcher's tries."""
    ok = sum(level["ok"] for level in levels)
    wall = sum(level["wall_s"] for level in levels)
    subs = [level["subscription"] for level in levels if "subscription" in level]
    return {
        "req_per_s": round(ok / wall, 1) if wall else 0.0,
        "per_window": [round(level["req_per_s"], 1) for level in levels],
        "ok": ok,
        "failed": sum(
            level["requests"] - level["ok"] + sum(level["errors"].values()) for level in levels
        ),
        "server_cpu_ms_per_delivery": round(
            sum(lv["server_cpu_ms_per_request"] * lv["requests"] for lv in levels)
            / max(1, sum(lv["requests"] for lv in levels)),
            3,
        ),
        "p99_ms": [round(level["latency_ms"]["p99"], 1) for level in levels],
        "attempts": sum(s["attempts"] for s in subs) if subs else None,
        "delivered": sum(s["delivered"] for s in subs) if subs else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None, help="per window")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", type=Path, default=OUT / "outbound.json")
    args = parser.parse_args()
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = 0.5 if args.quick else 3.0
    command = " ".join(["python -m bench.outbound", *sys.argv[1:]])
    answer = section(run(args), command)
    print(answer["markdown"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
