"""One outbound webhook POST: its outcome, latency and error, never an exception."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Attempt:
    ok: bool
    http_status: int | None
    latency_ms: float
    error: str | None


async def post(client: httpx.AsyncClient, url: str, body: str, headers: dict[str, str]) -> Attempt:
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body.encode("utf-8"), headers=headers)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return Attempt(False, None, latency, f"{type(exc).__name__}: {exc}"[:500])
    latency = (time.perf_counter() - started) * 1000
    ok = 200 <= response.status_code < 300
    error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
    return Attempt(ok, response.status_code, latency, error)


def client(timeout: float) -> httpx.AsyncClient:
    # Redirects are not followed: a receiver must not point the request elsewhere (SSRF).
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False)
