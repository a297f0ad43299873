"""Many SSE clients on the change stream while ingest runs (docs/changes.md).

Starts `leadledger serve` on a fresh SQLite file (or, with --pg, a PostgreSQL schema),
sends --deliveries signed Kapso deliveries with no stream open (the baseline), then opens
--clients SSE clients on `GET /changes/stream` (each from the feed's end) and sends as many
again. Reports ingest deliveries/s in both runs, whether every client got every new change
exactly once and in order, and the latency from the ledger's commit (`recorded_at`) to each
client's receipt (p50/p90/p99/max). The clients run in a process of their own (one event
loop), the load generator in this one, the server in a third.

    python -m bench.sse_fanout --clients 200 --deliveries 2000
    python -m bench.sse_fanout --clients 20 --deliveries 200    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from bench import loadgen
from bench.common import DEFAULT_PG, OUT, Credentials, database, machine, served, summary


@dataclass
class Client:
    ids: list[str] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None


async def listen(base: str, key: str, after: str, types: str, client: Client) -> None:
    timeout = httpx.Timeout(30.0, read=120.0)
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=timeout) as http,
            aconnect_sse(
                http,
                "GET",
                "/changes/stream",
                params={"after": after, "types": types},
                headers={"Authorization": f"Bearer {key}"},
            ) as source,
        ):
            client.connected.set()
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue  # a heartbeat (httpx-sse yields it, with the last id)
                now = time.time()
                item = json.loads(sse.data)
                client.ids.append(sse.id)
                client.lags_ms.append(
                    (now - datetime.fromisoformat(item["recorded_at"]).timestamp()) * 1000
                )
    except (httpx.HTTPError, asyncio.CancelledError) as exc:
        client.error = type(exc).__name__
    finally:
        client.connected.set()


async def feed_ids(http: httpx.AsyncClient, key: str, after: str, types: str = "") -> list[str]:
    ids: list[str] = []
    while True:
        resp = await http.get(
            "/changes",
            params={"after": after, "limit": 1000, "types": types},
            headers={"Authorization": f"Bearer {key}"},
        )
        resp.raise_for_status()
        page = [item["id"] for item in resp.json()["changes"]]
        if not page:
            return ids
        ids += page
        after = page[-1]


async def ingest(base: str, creds: Credentials, count: int, concurrency: int) -> float:
    where = httpx.URL(base)
    plan = loadgen.Plan(
        str(where.host),
        int(where.port or 80),
        creds.kapso_secret,
        "S" + uuid.uuid4().hex[:6],
        concurrency,
        3600.0,
    )
    outcome, wall = await loadgen.drive(plan, loadgen.deliveries(plan, count))
    ok = outcome.statuses.get(200, 0)
    return ok / wall if wall > 0 else 0.0


async def settled_end(http: httpx.AsyncClient, key: str, seconds: float = 30.0) -> str:
    """The feed's last id once the views stopped moving (2 equal reads 0.5 s apart)."""
    last, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ids = await feed_ids(http, key, last)
        if not ids and last:
            return last
        last = ids[-1] if ids else last
        await asyncio.sleep(0.5)
    return last


async def scenario(base: str, creds: Credentials, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        alone = await ingest(base, creds, args.deliveries, args.concurrency)
        start = await settled_end(http, creds.api_key)
        parent, child = multiprocessing.Pipe()
        listeners = multiprocessing.Process(
            target=run_clients,
            args=(base, creds.api_key, start, args.types, args.clients, child),
        )
        listeners.start()
        if not parent.poll(60) or parent.recv() != "connected":
            raise SystemExit("the SSE clients did not connect")
        together = await ingest(base, creds, args.deliveries, args.concurrency)
        await settled_end(http, creds.api_key)  # the views caught up: the feed is whole
        expected = await feed_ids(http, creds.api_key, start, args.types)
        parent.send((expected, args.drain_seconds))
        while not parent.poll(0):  # the feed may still grow while the views catch up
            await asyncio.sleep(0.5)
        exact, errors, lags = parent.recv()
        listeners.join(30)
    return {
        "clients": args.clients,
        "types": args.types or "all",
        "deliveries_per_run": args.deliveries,
        "ingest_per_s_without_streams": round(alone, 1),
        "ingest_per_s_with_streams": round(together, 1),
        "changes_streamed": len(expected),
        "clients_with_every_change_once_in_order": exact,
        "client_errors": errors,
        "commit_to_client_ms": {k: round(v, 1) for k, v in summary(lags).items()},
    }


def run_clients(base: str, key: str, start: str, types: str, count: int, pipe: Connection) -> None:
    """The child process: `count` SSE clients from `start`; reports once all have what the
    parent says the feed holds (or the drain deadline passed)."""

    async def clients() -> None:
        made = [Client() for _ in range(count)]
        tasks = [asyncio.create_task(listen(base, key, start, types, c)) for c in made]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in made)), 60)
        pipe.send("connected")
        while not pipe.poll(0):
            await asyncio.sleep(0.1)
        expected, drain = pipe.recv()
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and any(len(c.ids) < len(expected) for c in made):
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        exact = sum(1 for c in made if c.ids == expected)
        errors = sorted({c.error for c in made if c.error and c.error != "CancelledError"})
        pipe.send((exact, errors, [lag for c in made for lag in c.lags_ms]))

    asyncio.run(clients())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--types", default="", help="the streams' filter (default: all)")
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--dsn", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    creds = Credentials()
    workdir = Path(tempfile.mkdtemp(prefix="leadledger-sse-"))
    try:
        with (
            database(args.pg, args.dsn, workdir, "sse") as url,
            served(url, creds, workdir, 1) as r,
        ):
            figures = asyncio.run(scenario(r.base, creds, args))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {"backend": "postgres" if args.pg else "sqlite", "machine": machine(), **figures}
    out = args.out or OUT / f"sse-fanout-{result['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
