"""The change stream: 200 SSE clients while ingest runs, and the command → client lag.

    .venv/bin/python -m bench.changes [--quick] [--pg] [--out FILE]

One `leadledger serve` process (SQLite, or a PostgreSQL schema with --pg). Three parts,
each process on its own (server, SSE clients, load generator, probe sender):

1. Light load: one real SSE client (httpx-sse); probes at a modest steady rate, no other
   traffic. A probe is a signed Kapso delivery or a note command (`POST /leads/{id}/notes`,
   a human key), alternately, carrying a marker; its lag is the client's first sight of
   the marker minus the arrival of the probe's HTTP 200 (one monotonic clock, one machine).
2. Ingest: --deliveries signed deliveries from bench/loadgen, as fast as answered, with no
   stream open, then the same with --clients streams open (all but --real of them cheap
   raw-socket clients, bench/sse_clients.py), then again without: deliveries/s of each,
   side by side. Probes run through all three (so the load is the same), and their lag is
   taken in every client.
3. After the first two, a steady --steady-rate ingest (with probes): the server's CPU
   seconds for the same work with and without the streams, and the lag at a modest load.
4. Each part with clients ends by comparing every client's ids with the feed's
   (`GET /changes`): every change once, in order.

Writes bench/out/changes-<backend>.json (or --out): {section, command, markdown, aims,
figures} (bench/changes_report.py renders it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from adapters.webhooks import payloads
from adapters.webhooks.traffic import SIMULATED_PHONE_NUMBER_ID
from bench import loadgen, sse_clients
from bench.change_probes import PROBE_PHONE, Probes, probe_delivery
from bench.changes_report import section
from bench.common import (
    DEFAULT_PG,
    OUT,
    WORKSPACE,
    Credentials,
    database,
    machine,
    process_tree_cpu,
    served,
    summary,
)

FULL = {"clients": 200, "real": 4, "deliveries": 2000, "light_probes": 200, "steady_seconds": 20}
QUICK = {"clients": 50, "real": 4, "deliveries": 200, "light_probes": 20, "steady_seconds": 2}


def workspace_toml(human_key: str) -> str:
    """The bench workspace with a human key (notes need one; the env key is admin's)."""
    return (
        f'[workspaces.{WORKSPACE}]\nphone_number_ids = ["{SIMULATED_PHONE_NUMBER_ID}"]\n'
        f'[[workspaces.{WORKSPACE}.keys]]\nrole = "human"\nname = "bench-probe"\n'
        f'key = "{human_key}"\n'
    )


class Run:
    def __init__(self, base: str, pid: int, creds: Credentials, human: str) -> None:
        self.base, self.pid, self.creds, self.human = base, pid, creds, human
        self.http = httpx.Client(base_url=base, timeout=30)
        self.auth = {"Authorization": f"Bearer {creds.api_key}"}
        body, headers = probe_delivery(creds.kapso_secret, 0)
        self.http.post(payloads.KAPSO_PATH, content=body, headers=headers).raise_for_status()
        found = self.http.get(f"/leads/by-phone/{PROBE_PHONE}", headers=self.auth)
        found.raise_for_status()
        self.lead: str = found.json()["lead_id"]
        self.probes_sent = 1

    def feed_ids(self, after: str) -> list[str]:
        ids: list[str] = []
        while True:
            params: dict[str, str | int] = {"after": after, "limit": 1000}
            resp = self.http.get("/changes", params=params, headers=self.auth)
            resp.raise_for_status()
            page = [item["id"] for item in resp.json()["changes"]]
            if not page:
                return ids
            ids += page
            after = page[-1]

    def settled_end(self, seconds: float = 60.0) -> str:
        """The feed's last id once the views stopped moving (2 equal reads 0.5 s apart)."""
        last, deadline = "0", time.monotonic() + seconds
        while time.monotonic() < deadline:
            ids = self.feed_ids(last)
            if not ids and last != "0":
                return last
            last = ids[-1] if ids else last
            time.sleep(0.5)
        return last

    def ingest(self, count: int, concurrency: int, rate: float = 0.0) -> float:
        """Deliveries/s answered 200: as fast as answered, or at a steady `rate`."""
        where = httpx.URL(self.base)
        run = "C" + uuid.uuid4().hex[:6]
        plan = loadgen.Plan(
            str(where.host), int(where.port or 80), self.creds.kapso_secret, run, concurrency,
            count / rate + 30 if rate else 3600.0, max_requests=count, rate=rate,
        )  # fmt: skip
        process, receive = loadgen.start(plan, float(count))
        raw = loadgen.finish(process, receive)
        ok = int(raw["statuses"].get(200, raw["statuses"].get("200", 0)))
        return ok / raw["wall_s"] if raw["wall_s"] > 0 else 0.0

    def probes(self, rate: float, count: int = 0) -> Probes:
        first = self.probes_sent
        self.probes_sent += count or 100_000  # numbers never reused between parts
        return Probes(
            self.base, self.creds.kapso_secret, (self.human, self.lead), first, rate, count
        )

    def clients(self, after: str, raw: int, real: int) -> tuple[Any, Connection]:
        parent, child = multiprocessing.Pipe()
        args = (self.base, self.creds.api_key, after, raw, real, child)
        process = multiprocessing.Process(target=sse_clients.run, args=args)
        process.start()
        if not parent.poll(120) or parent.recv() != "connected":
            raise SystemExit("the SSE clients did not connect")
        # Connected is not yet live: the server's shared tail starts with the first stream,
        # and until it has read the feed's end each stream reads the feed on its own.
        time.sleep(1.0)
        return process, parent

    def verdict(self, clients: tuple[Any, Connection], after: str, drain: float) -> dict[str, Any]:
        self.settled_end()  # the views caught up: the feed is whole
        expected = self.feed_ids(after)
        process, pipe = clients
        pipe.send((expected, drain))
        answer: dict[str, Any] = pipe.recv()
        process.join(30)
        answer["changes"] = len(expected)
        return answer


def lags(answered: dict[str, float], seen: list[dict[str, float]]) -> tuple[list[float], int]:
    """Every (probe, client) lag in ms, and how many such receipts are missing."""
    found = [(s[t] - at) * 1000 for s in seen for t, at in answered.items() if t in s]
    return found, len(answered) * len(seen) - len(found)


def distribution(values: list[float]) -> dict[str, float]:
    return {"count": len(values), **{k: round(v, 1) for k, v in summary(values).items()}}


def scenario(run: Run, size: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    # 1. Light load: one real client, probes at a modest rate, nothing else.
    start = run.settled_end()
    one = run.clients(start, 0, 1)
    probes = run.probes(args.light_rate, size["light_probes"]).stop(wait=True)
    light = run.verdict(one, start, args.drain_seconds)
    found, missing = lags(probes["answered"], light["probes_real"])
    figures["light"] = {
        "rate_per_s": args.light_rate,
        "probes": len(probes["answered"]),
        "probe_failures": probes["failed"],
        "lag_ms": distribution(found),
        "missing": missing,
        **{k: light[k] for k in ("changes", "exact_real", "errors", "short")},
    }
    # 2. Ingest without, with, and again without the streams; probes throughout.
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}
    steady_cpu: dict[str, float] = {}
    steady = int(args.steady_rate * size["steady_seconds"])
    for part in ("without", "with", "without_again"):
        start = run.settled_end()
        listening = None
        if part == "with":
            listening = run.clients(start, size["clients"] - size["real"], size["real"])
        sender = run.probes(args.probe_rate)
        before = process_tree_cpu(run.pid)
        rates[part] = run.ingest(size["deliveries"], args.concurrency)
        cpu[part] = round(process_tree_cpu(run.pid) - before, 1)
        probes = sender.stop()
        if part == "without_again":
            continue
        # 3. A steady, modest ingest: the streams' CPU cost where the load is the same.
        sender = run.probes(args.probe_rate)
        before = process_tree_cpu(run.pid)
        steady_rate = run.ingest(steady, args.concurrency, args.steady_rate)
        steady_cpu[part] = round(process_tree_cpu(run.pid) - before, 1)
        steady_probes = sender.stop()
        if listening is not None:
            fan = run.verdict(listening, start, args.drain_seconds)
            figures["fanout"] = {
                "clients": size["clients"],
                "real_clients": size["real"],
                **{k: fan[k] for k in ("changes", "exact_raw", "exact_real", "errors", "short")},
                "clients_cpu_s": fan["clients_cpu_s"],
                **receipts(probes, fan),
                "steady": {
                    "rate_per_s": round(steady_rate, 1),
                    "deliveries": steady,
                    "server_cpu_s": steady_cpu,
                    **receipts(steady_probes, fan),
                },
            }
    figures["ingest_per_s"] = {k: round(v, 1) for k, v in rates.items()}
    figures["server_cpu_s"] = cpu  # while the deliveries were sent
    figures["deliveries_per_run"] = size["deliveries"]
    return figures


def receipts(probes: dict[str, Any], clients: dict[str, Any]) -> dict[str, Any]:
    """The probes' lags in every client (and in the real clients alone)."""
    raw_lags, raw_missing = lags(probes["answered"], clients["probes_raw"])
    real_lags, real_missing = lags(probes["answered"], clients["probes_real"])
    return {
        "probes": len(probes["answered"]),
        "probe_failures": probes["failed"],
        "lag_ms": distribution(raw_lags + real_lags),
        "real_lag_ms": distribution(real_lags),
        "missing": raw_missing + real_missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s)")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--concurrency", type=int, default=16, help="load generator's")
    parser.add_argument("--light-rate", type=float, default=10.0, help="probes/s, part 1")
    parser.add_argument("--probe-rate", type=float, default=5.0, help="probes/s, part 2")
    parser.add_argument("--steady-rate", type=float, default=50.0, help="deliveries/s, part 3")
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=None, help="JSON output file")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    creds, human = Credentials(), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="leadledger-changes-") as tmp:
        workdir = Path(tmp)
        with (
            database(args.pg, args.dsn, workdir, "changes") as url,
            served(url, creds, workdir, 1, config_toml=workspace_toml(human)) as server,
        ):
            run = Run(server.base, server.process.pid, creds, human)
            figures = scenario(run, size, args)
    figures = {"backend": "postgres" if args.pg else "sqlite", "machine": machine(), **figures}
    command = " ".join(["python -m bench.changes", *sys.argv[1:]])
    answer = section(figures, command)
    print(answer["markdown"])
    out = args.out or OUT / f"changes-{figures['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
