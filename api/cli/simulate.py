"""`leadledger simulate`: send realistic signed traffic to a running server.

It fails (exit 1, saying why) unless every request was answered 2xx: a dead server, a wrong
secret or key must never look like a successful run."""

from __future__ import annotations

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
REFUSED_MEANING = {
    401: "the Kapso secret or the API key is not one the server knows (--kapso-secret, --api-key)",
    413: "bodies larger than the server's LEADLEDGER_MAX_BODY_BYTES",
    422: "the server did not accept the payloads",
    503: "the server could not commit in time (database unavailable or overloaded)",
}


def simulate(
    url: str = typer.Option("http://127.0.0.1:8000", help="The server's base URL."),
    rate: float = typer.Option(20.0, min=0.1, help="Requests per second."),
    count: int = typer.Option(200, min=1, help="How many requests to send."),
    leads: int = typer.Option(50, min=1, help="How many distinct leads (phones)."),
    concurrency: int = typer.Option(8, min=1, max=256),
    kapso_secret: str = typer.Option(
        "",
        envvar="LEADLEDGER_KAPSO_WEBHOOK_SECRET",
        show_default=False,  # never print a secret in --help
        help="Kapso webhook secret.",
    ),
    api_key: str = typer.Option(
        "",
        envvar="LEADLEDGER_SIMULATE_API_KEY",
        show_default=False,
        help="Workspace API key for Sarah updates.",
    ),
    seed: int = typer.Option(7),
) -> None:
    """Kapso messages (10% redelivered, some batched) and Sarah phase updates, signed and
    stamped with the current time."""
    if not kapso_secret or not api_key:
        raise typer.BadParameter(
            "--kapso-secret and --api-key are required (see the first-run "
            "output of `leadledger serve` or your config)"
        )
    _check_reachable(url)
    traffic = Traffic(kapso_secret, api_key, leads, seed=seed, clock=time.time)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
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
            except httpx.HTTPError as exc:
                status = 0
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
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
    failures = failure_reasons(statuses, errors)
    for reason in failures:
        typer.echo(f"leadledger: {reason}", err=True)
    if failures:
        raise typer.Exit(1)


def failure_reasons(statuses: Counter[int], errors: list[str]) -> list[str]:
    """One sentence per kind of answer that is not a success."""
    reasons = []
    for status, times in sorted(statuses.items()):
        if status == 0:
            first = errors[0] if errors else "no answer"
            reasons.append(f"{times} request(s) got no answer (first: {first})")
        elif not 200 <= status < 300:
            meaning = REFUSED_MEANING.get(status, "see the server's log")
            reasons.append(f"{times} request(s) answered {status}: {meaning}")
    return reasons


def _check_reachable(url: str) -> None:
    """Before sending anything: a server that does not answer fails at once."""
    try:
        httpx.get(f"{url.rstrip('/')}/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        typer.echo(f"leadledger: no leadledger server answers at {url} ({exc})", err=True)
        raise typer.Exit(1) from None


def _ms(sorted_seconds: list[float], quantile: float) -> float:
    index = min(len(sorted_seconds) - 1, int(quantile * len(sorted_seconds)))
    return sorted_seconds[index] * 1000 if sorted_seconds else 0.0
