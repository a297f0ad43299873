"""The change-stream bench's own parts: its cheap SSE client reads exactly the ids the
server sent, however the bytes are cut, and its aims follow from its figures. No benchmark
runs here."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from sse_starlette import ServerSentEvent

from bench.changes_report import AIM_INGEST_RATIO, AIM_LAG_P99_MS, section
from bench.sse_clients import RawStream, Received, token

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def chunked(batches: list[list[bytes]]) -> bytes:
    """As uvicorn sends a streaming body: one chunk per write (a batch of events)."""
    body = b""
    for batch in batches:
        data = b"".join(batch)
        body += f"{len(data):x}\r\n".encode() + data + b"\r\n"
    return body


class FakeTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 400), max_size=30),
    probe=st.integers(0, 30),
)
def test_the_cheap_client_reads_every_id_once_in_order_however_the_bytes_are_cut(
    sizes: list[int], cuts: list[int], probe: int
) -> None:
    ids, batches, n = [], [], 0
    for size in sizes:
        batch = []
        for _ in range(size):
            ident = f"{n // 2 + 1}.{n % 2}"
            text = f"probe {token(n)}" if n == probe else "x\ny"  # a newline inside the JSON
            data = json.dumps({"id": ident, "data": {"text": text}})
            batch.append(ServerSentEvent(data=data, id=ident).encode())
            ids.append(ident.encode())
            n += 1
        batches.append(batch)
        batches.append([ServerSentEvent(comment="ping").encode()])  # a heartbeat between
    wire = HEAD + chunked(batches)

    async def read() -> Received:
        got = Received()
        stream = RawStream(b"GET", got)
        stream.connection_made(cast(asyncio.Transport, FakeTransport()))
        at = 0
        for cut in cuts:
            stream.data_received(wire[at : at + cut])
            at += cut
        stream.data_received(wire[at:])
        return got

    got = asyncio.run(read())
    assert got.ids == ids
    assert got.error is None
    assert list(got.probes) == ([token(probe)] if probe < n else [])


def figures(rates: tuple[float, float, float], p99s: tuple[float, float, float]) -> dict[str, Any]:
    def lag(p99: float) -> dict[str, float]:
        return {"count": 10, "p50": p99 / 2, "p90": p99, "p99": p99, "max": p99, "mean": p99}

    receipts = {"probes": 5, "probe_failures": [], "missing": 0}
    return {
        "backend": "sqlite",
        "light": {"rate_per_s": 10, "lag_ms": lag(p99s[0]), "changes": 9, "exact_real": 1}
        | receipts
        | {"errors": []},
        "fanout": {
            "clients": 200,
            "real_clients": 4,
            "changes": 99,
            "exact_raw": 196,
            "exact_real": 4,
            "errors": [],
            "clients_cpu_s": 1.0,
            "lag_ms": lag(p99s[1]),
            "real_lag_ms": lag(p99s[1]),
            **receipts,
            "steady": {
                "rate_per_s": 50,
                "deliveries": 100,
                "server_cpu_s": {"without": 1.0, "with": 1.1},
                "lag_ms": lag(p99s[2]),
                "real_lag_ms": lag(p99s[2]),
                **receipts,
            },
        },
        "ingest_per_s": dict(zip(("without", "with", "without_again"), rates, strict=True)),
        "server_cpu_s": {"without": 1.0, "with": 1.2, "without_again": 1.0},
        "deliveries_per_run": 100,
    }


@given(
    rates=st.tuples(*[st.floats(1, 1000, allow_nan=False)] * 3),
    p99s=st.tuples(*[st.floats(0, 500, allow_nan=False)] * 3),
)
def test_each_aim_is_met_exactly_when_its_figure_is_within_it(
    rates: tuple[float, float, float], p99s: tuple[float, float, float]
) -> None:
    aims = section(figures(rates, p99s), "python -m bench.changes")["aims"]
    ingest, light, steady, saturated, every = (aim["met"] for aim in aims)
    assert ingest == (rates[1] / ((rates[0] + rates[2]) / 2) >= AIM_INGEST_RATIO)
    assert light == (p99s[0] < AIM_LAG_P99_MS)
    assert steady == (p99s[2] < AIM_LAG_P99_MS)
    assert saturated == (p99s[1] < AIM_LAG_P99_MS)
    assert every


def test_a_client_that_missed_a_change_fails_the_every_change_aim() -> None:
    found = figures((100, 100, 100), (1, 1, 1))
    found["fanout"]["exact_raw"] = 195
    aims = section(found, "python -m bench.changes")["aims"]
    assert not aims[-1]["met"]
    assert "199 of 200" in aims[-1]["measured"]
