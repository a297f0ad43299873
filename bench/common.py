"""What every benchmark shares: the machine it ran on, a real server, a fresh database,
and nearest-rank percentiles."""

from __future__ import annotations

import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG = os.environ.get("LEADLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
WORKSPACE = "bench"


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def leadledger_bin() -> str:
    beside = Path(sys.executable).with_name("leadledger")
    found = str(beside) if beside.exists() else shutil.which("leadledger")
    if not found:
        raise SystemExit("leadledger is not installed (pip install -e .)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    kapso_secret: str = field(default_factory=lambda: secrets.token_hex(32))


@contextmanager
def database(pg: bool, dsn: str, workdir: Path) -> Iterator[str]:
    """A fresh ledger URL; a PostgreSQL schema is dropped afterwards."""
    if not pg:
        yield f"sqlite:///{workdir / 'ledger.db'}"
        return
    schema = f"ll_bench_lag_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{dsn}?schema={schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def server(url: str, creds: Credentials, workdir: Path, workers: int) -> Iterator[str]:
    """`leadledger serve` on a free port, healthy within 30 s; stopped on the way out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(
        PYTHONUNBUFFERED="1",
        LEADLEDGER_DATABASE_URL=url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={creds.api_key}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=creds.kapso_secret,
        LEADLEDGER_CONFIG_FILE=str(workdir / "absent.toml"),
        LEADLEDGER_LOG_LEVEL="warning",  # no access log: it would cost the server CPU
    )
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [leadledger_bin(), "serve", "--port", str(port), "--workers", str(workers)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base, timeout=2) as client:
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log.read_text(errors='replace')}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q * len(sorted_values))))
    return sorted_values[rank - 1]


def summary(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "p50": quantile(ordered, 0.50),
        "p90": quantile(ordered, 0.90),
        "p99": quantile(ordered, 0.99),
        "max": ordered[-1] if ordered else float("nan"),
        "mean": sum(ordered) / len(ordered) if ordered else float("nan"),
    }
