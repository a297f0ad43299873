"""Many SSE clients of `GET /changes/stream` in one process (bench/changes.py's child).

Most are cheap: a raw socket (HTTP/1.1, chunks undone) that splits the stream on blank
lines and keeps only each event's `id:`. A few are real clients (httpx-sse), which parse
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
from typing import Any
from urllib.parse import urlencode

import httpx
import uvloop
from httpx_sse import aconnect_sse

MARKER = b"PROBE-"
ID_LINE = re.compile(rb"^id: ([^\r\n]*)", re.MULTILINE)
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


async def raw_client(host: str, port: int, key: str, after: str, got: Received) -> None:
    """`id:`s and probe markers only, from the bytes (sse-starlette ends lines with CRLF)."""
    query = urlencode({"after": after})
    request = (
        f"GET /changes/stream?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            got.error = head.split(b"\r\n", 1)[0].decode("latin-1")
            return
        chunked = b"transfer-encoding: chunked" in head.lower()
        got.connected.set()
        rest = b""
        while chunk := await (_chunk(reader) if chunked else reader.read(1 << 16)):
            now = time.monotonic()
            # The complete events only; one regex call a read, not a loop over events.
            rest += chunk
            end = rest.rfind(b"\r\n\r\n") + 4
            if end >= 4:
                whole, rest = rest[:end], rest[end:]
                got.ids += ID_LINE.findall(whole)
                got.saw(whole, now)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        got.error = type(exc).__name__
    finally:
        got.connected.set()
        if writer is not None:
            writer.close()


async def _chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked HTTP/1.1 body (b"" at its end)."""
    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
    return (await reader.readexactly(size + 2))[:-2]


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
