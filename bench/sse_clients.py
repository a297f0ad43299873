"""Many SSE clients of `GET /changes/stream` in one process (bench/changes.py's child).

Most are cheap: a raw socket (HTTP/1.1) whose protocol keeps only each event's `id:` line
(bench/sse_clients.RawStream). A few are real clients (httpx-sse), which parse
every event as a browser's EventSource would. Two hundred full Python clients parsing every
event on the server's two CPUs would measure the clients, not the server. Every client
notes when it first sees each probe's marker (`PROBE-nnnnnn.`, in the probe's message id
or note), on the system-wide monotonic clock, which the probe sender reads too.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import uvloop
from httpx_sse import aconnect_sse

MARKER = b"PROBE-"
# After a newline, not `^` with MULTILINE: a literal prefix makes the scan ten times faster.
# Every event follows one (its chunk's size line, or the blank line that ended the last).
ID_LINE = re.compile(rb"\nid: ([^\r\n]*)")
TOKEN_LEN = len(MARKER) + 7  # PROBE-000123.


def token(n: int) -> str:
    return f"PROBE-{n:06d}."


@dataclass
class Received:
    ids: list[bytes] = field(default_factory=list)
    probes: dict[str, float] = field(default_factory=dict)  # token -> first seen (monotonic)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None

    def saw(self, text: bytes, now: float) -> None:
        at = text.find(MARKER)
        while at >= 0:
            self.probes.setdefault(text[at : at + TOKEN_LEN].decode(), now)
            at = text.find(MARKER, at + TOKEN_LEN)


class RawStream(asyncio.Protocol):
    """A cheap client: bytes in, `id:`s out, in the event loop's own callback (no task, no
    await per read). It does not undo the chunked framing: a chunk is one server write of
    whole events, and a size line (hex digits) is never an `id:` line."""

    def __init__(self, request: bytes, got: Received) -> None:
        self.request, self.got = request, got
        self.pending = b""
        self.live = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        pending = self.pending + data
        if not self.live:
            head, found, pending = pending.partition(b"\r\n\r\n")
            if not found:
                self.pending = head
                return
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                self.got.error = head.split(b"\r\n", 1)[0].decode("latin-1")
                self.transport.close()
                return
            self.live = True
            self.got.connected.set()
        end = pending.rfind(b"\r\n\r\n") + 4  # the complete events; one regex call a read
        if end >= 4:
            self.got.ids += ID_LINE.findall(pending, 0, end)
            self.got.saw(pending[:end], now)
            pending = pending[end - 1 :]  # from its last "\n": an `id:` may follow at once
        self.pending = pending

    def connection_lost(self, exc: Exception | None) -> None:
        self.got.connected.set()
        if exc is not None and self.got.error is None:
            self.got.error = type(exc).__name__
        if not self.closed.done():
            self.closed.set_result(None)


async def raw_client(host: str, port: int, key: str, after: str, got: Received) -> None:
    query = urlencode({"after": after})
    request = (
        f"GET /changes/stream?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    try:
        transport, stream = await loop.create_connection(
            lambda: RawStream(request, got), host, port
        )
    except OSError as exc:
        got.error = type(exc).__name__
        got.connected.set()
        return
    try:
        await stream.closed
    finally:
        transport.close()


async def sse_client(base: str, key: str, after: str, got: Received) -> None:
    timeout = httpx.Timeout(30.0, read=300.0)
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=timeout) as http,
            aconnect_sse(
                http,
                "GET",
                "/changes/stream",
                params={"after": after},
                headers={"Authorization": f"Bearer {key}"},
            ) as source,
        ):
            got.connected.set()
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue  # a heartbeat (httpx-sse yields it, with the last id)
                now = time.monotonic()
                json.loads(sse.data)  # what a real client does with each event
                got.ids.append(sse.id.encode())
                got.saw(sse.data.encode(), now)
    except httpx.HTTPError as exc:
        got.error = type(exc).__name__
    finally:
        got.connected.set()


def run(base: str, key: str, after: str, raw: int, real: int, pipe: Connection) -> None:
    """Process entry point: `raw` cheap and `real` httpx-sse clients from `after`. Says
    "connected", then waits for the feed's ids (and a drain deadline); answers with how
    many clients got exactly those ids, their errors and the probes' receipt times."""
    uvloop.run(_clients(base, key, after, raw, real, pipe))


async def _clients(base: str, key: str, after: str, raw: int, real: int, pipe: Connection) -> None:
    url = httpx.URL(base)
    host, port = str(url.host), int(url.port or 80)
    cheap = [Received() for _ in range(raw)]
    full = [Received() for _ in range(real)]
    tasks = [asyncio.create_task(raw_client(host, port, key, after, got)) for got in cheap]
    tasks += [asyncio.create_task(sse_client(base, key, after, got)) for got in full]
    everyone = cheap + full
    await asyncio.wait_for(asyncio.gather(*(got.connected.wait() for got in everyone)), 120)
    pipe.send("connected")
    while not pipe.poll(0):
        await asyncio.sleep(0.05)
    expected_text, drain = pipe.recv()
    expected = [i.encode() for i in expected_text]
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline and any(len(g.ids) < len(expected) for g in everyone):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # anything beyond the feed (a repeat) would arrive now
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    answer: dict[str, Any] = {
        "clients_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "exact_raw": sum(1 for g in cheap if g.ids == expected),
        "exact_real": sum(1 for g in full if g.ids == expected),
        "errors": sorted({g.error for g in everyone if g.error}),
        "short": sum(1 for g in everyone if len(g.ids) < len(expected)),
        "fewest": min((len(g.ids) for g in everyone), default=0),
        "probes_raw": [g.probes for g in cheap],
        "probes_real": [g.probes for g in full],
    }
    pipe.send(answer)
