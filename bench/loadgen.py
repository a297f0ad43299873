"""The ingest load generator: signed Kapso deliveries over raw keep-alive HTTP/1.1.

Runs in its own process (`generate` is the process's target), so its CPU is not the
server's. Every request is built and signed before the clock starts; the clock covers
only writing pre-encoded bytes and reading the answer, on uvloop. A full HTTP client
(httpx) costs more CPU per request than the bare ceiling server itself, which would make
the client the bottleneck: hence the few lines of HTTP here. The process measures its own
CPU time, so the report can show the generator was not saturated.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import uvloop

from adapters.webhooks.payloads import (
    KAPSO_PATH,
    KAPSO_RECEIVED,
    kapso_batch,
    kapso_headers,
    kapso_message,
)
from adapters.webhooks.traffic import NAMES, SIMULATED_PHONE_NUMBER_ID, phone_for

TEXTS = ("Halo kak", "Berapa harga paket bulanan?", "Boleh minta katalog?", "Oke, saya minat")


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    secret: str
    run: str  # unique per level: message ids never collide between levels
    concurrency: int
    seconds: float
    leads: int = 50_000
    duplicate_rate: float = 0.10
    batch_rate: float = 0.05
    seed: int = 7
    max_requests: int = 200_000
    rate: float = 0.0  # > 0: send at this steady rate (open loop), else as fast as answered


@dataclass(frozen=True)
class Delivery:
    wire: bytes  # the whole HTTP request
    message_ids: tuple[str, ...]


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    messages_ok: int = 0  # messages in deliveries answered 200, repeats included
    acked_ids: set[str] = field(default_factory=set)
    sent_ids: set[str] = field(default_factory=set)


def message(plan: Plan, rng: random.Random, lead: int, n: int) -> dict[str, Any]:
    text = rng.choice(TEXTS)
    return kapso_message(
        f"wamid.B{plan.run}{n:09d}",
        phone_for(lead),
        phone_number_id=SIMULATED_PHONE_NUMBER_ID,
        conversation_id=f"conv_bench_{lead}",
        text=text,
        sender=phone_for(lead)[1:],
        message_kapso={"content": text},
        conversation_kapso={"contact_name": NAMES[lead % len(NAMES)]},
    )


def wire(plan: Plan, body: bytes, batch: bool, key: str) -> bytes:
    headers = kapso_headers(plan.secret, body, KAPSO_RECEIVED, batch=batch, idempotency_key=key)
    head = f"POST {KAPSO_PATH} HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def deliveries(plan: Plan, count: int) -> list[Delivery]:
    """Mostly new single messages across many leads, exact repeats, some batches."""
    rng = random.Random(f"{plan.seed}-{plan.run}")
    out: list[Delivery] = []
    n = 0
    while len(out) < count:
        roll = rng.random()
        if out and roll < plan.duplicate_rate:
            # A retry of a recent delivery: same bytes, same idempotency key.
            out.append(out[rng.randrange(max(0, len(out) - 1000), len(out))])
            continue
        lead = rng.randrange(plan.leads)
        size = rng.randint(2, 5) if roll < plan.duplicate_rate + plan.batch_rate else 1
        items = [message(plan, rng, lead, n + i) for i in range(size)]
        n += size
        payload: Any = items[0]
        if size > 1:
            payload = kapso_batch(KAPSO_RECEIVED, items, f"conv_bench_{lead}")
        body = json.dumps(payload).encode()
        h = f"{rng.getrandbits(128):032x}"
        key = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # a UUID's shape
        ids = tuple(item["message"]["id"] for item in items)
        out.append(Delivery(wire(plan, body, size > 1, key), ids))
    return out


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request; read the answer. Returns (status, server closes the connection)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, closing = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            closing = True
    if length:
        await reader.readexactly(length)
    return status, closing


async def drive(plan: Plan, work: list[Delivery]) -> tuple[Outcome, float]:
    outcome = Outcome()
    cursor = iter(range(len(work)))
    begin = time.perf_counter()
    deadline = begin + plan.seconds

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while True:  # a server that died or refuses is an error per try, until the deadline
            try:
                return await asyncio.open_connection(plan.host, plan.port)
            except OSError as exc:
                outcome.errors[f"connect: {type(exc).__name__}"] += 1
                if time.perf_counter() >= deadline:
                    raise
                await asyncio.sleep(0.05)

    async def worker() -> None:
        try:
            reader, writer = await connect()
        except OSError:
            return
        try:
            for index in cursor:
                if plan.rate > 0:
                    due = begin + index / plan.rate
                    if due >= deadline:
                        return
                    if (delay := due - time.perf_counter()) > 0:
                        await asyncio.sleep(delay)
                if time.perf_counter() >= deadline:
                    return
                delivery = work[index]
                outcome.sent_ids.update(delivery.message_ids)
                started = time.perf_counter()
                try:
                    status, closing = await exchange(reader, writer, delivery.wire)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    outcome.errors[type(exc).__name__] += 1
                    writer.close()
                    try:
                        reader, writer = await connect()
                    except OSError:
                        return
                    continue
                outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
                outcome.statuses[status] += 1
                if status == 200:
                    outcome.messages_ok += len(delivery.message_ids)
                    outcome.acked_ids.update(delivery.message_ids)
                if closing:
                    writer.close()
                    try:
                        reader, writer = await connect()
                    except OSError:
                        return
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
    return outcome, time.perf_counter() - started


def generate(plan: Plan, estimate_per_s: float, pipe: Connection) -> None:
    """Process entry point: build, send for plan.seconds, send the results back."""
    per_s = plan.rate if plan.rate > 0 else estimate_per_s
    count = min(plan.max_requests, int(per_s * plan.seconds) + 1000)
    work = deliveries(plan, count)
    pipe.send({"ready": True})  # built: the caller may start its clock with ours
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome, wall = uvloop.run(drive(plan, work))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    pipe.send(
        {
            "wall_s": wall,
            "client_cpu_s": cpu,
            "built": len(work),
            "latencies_ms": outcome.latencies_ms,
            "statuses": dict(outcome.statuses),
            "errors": dict(outcome.errors),
            "messages_ok": outcome.messages_ok,
            "acked_ids": sorted(outcome.acked_ids),
            "sent_ids": sorted(outcome.sent_ids),
            "exhausted": sum(outcome.statuses.values()) + sum(outcome.errors.values()) >= len(work),
        }
    )
    pipe.close()


def start(plan: Plan, estimate_per_s: float) -> tuple[BaseProcess, Connection]:
    """The generator in its own process (fork where there is one: it starts at once,
    spawn would re-import the caller's modules first). Callers start no threads before."""
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork") if fork else multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=generate, args=(plan, estimate_per_s, send), daemon=True)
    process.start()
    send.close()
    return process, receive


def finish(process: BaseProcess, receive: Connection) -> dict[str, Any]:
    """Wait for the generator's results."""
    try:
        raw: dict[str, Any] = receive.recv()
        while raw.get("ready"):
            raw = receive.recv()
    except EOFError:
        process.join(timeout=10)
        raise SystemExit(f"the load generator died (exit code {process.exitcode})") from None
    process.join(timeout=30)
    return raw
