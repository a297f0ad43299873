"""`leadledger simulate`: send realistic signed traffic to a running server."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import typer
from rich.console import Console
from rich.progress import Progress

from adapters.webhooks.traffic import Request, Traffic

out = Console()


def simulate(
    url: str = typer.Option("http://127.0.0.1:8000", help="The server's base URL."),
    rate: float = typer.Option(20.0, min=0.1, help="Requests per second."),
    count: int = typer.Option(200, min=1, help="How many requests to send."),
    leads: int = typer.Option(50, min=1, help="How many distinct leads (phones)."),
    concurrency: int = typer.Option(8, min=1, max=256),
    kapso_secret: str = typer.Option(
        os.environ.get("LEADLEDGER_KAPSO_WEBHOOK_SECRET", ""),
        help="Kapso webhook secret (default: $LEADLEDGER_KAPSO_WEBHOOK_SECRET).",
    ),
    api_key: str = typer.Option(
        os.environ.get("LEADLEDGER_SIMULATE_API_KEY", ""),
        help="A sarah key for Sarah's updates, `leadledger keys create --role sarah` "
        "(default: $LEADLEDGER_SIMULATE_API_KEY).",
    ),
    seed: int = typer.Option(7),
) -> None:
    """Kapso messages (10% redelivered, some batched) and Sarah phase updates, signed."""
    if not kapso_secret or not api_key:
        raise typer.BadParameter(
            "--kapso-secret and --api-key are required (see the first-run "
            "output of `leadledger serve` or your config)"
        )
    traffic = Traffic(kapso_secret, api_key, leads, seed=seed)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    with (
        httpx.Client(base_url=url, timeout=15) as client,
        ThreadPoolExecutor(concurrency) as pool,
        Progress(console=out) as progress,
    ):
        task = progress.add_task("simulating", total=count)

        def send(request: Request) -> None:
            started = time.perf_counter()
            try:
                status = client.post(
                    request.path, content=request.body, headers=request.headers
                ).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                statuses[status] += 1
                latencies.append(time.perf_counter() - started)
            progress.advance(task)

        start = time.perf_counter()
        futures = []
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, traffic.next()))
        for future in futures:
            future.result()
    latencies.sort()
    out.print(
        f"sent {count} in {time.perf_counter() - start:.1f} s; statuses "
        f"{dict(sorted(statuses.items()))}; latency p50 {_ms(latencies, 0.5):.1f} ms, "
        f"p99 {_ms(latencies, 0.99):.1f} ms"
    )
    if statuses[0] or any(code >= 500 for code in statuses):
        raise typer.Exit(1)


def _ms(sorted_seconds: list[float], quantile: float) -> float:
    index = min(len(sorted_seconds) - 1, int(quantile * len(sorted_seconds)))
    return sorted_seconds[index] * 1000 if sorted_seconds else 0.0
