"""What every benchmark shares: the machine it ran on, a real server, a fresh database,
and nearest-rank percentiles."""

from __future__ import annotations

import json
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

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DEFAULT_PG = os.environ.get("LEADLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
WORKSPACE = "bench"


def speed_probe(loops: int = 300_000) -> float:
    """Seconds of CPU for a fixed pure-Python job (json.dumps of a small dict): this
    machine's speed at the moment, since a shared host's varies by up to 2x over a day."""
    data = {"a": [1, 2, 3], "b": "x" * 50}
    started = time.process_time()
    for _ in range(loops):
        json.dumps(data)
    return time.process_time() - started


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
def database(pg: bool, dsn: str, workdir: Path, name: str = "lag") -> Iterator[str]:
    """A fresh ledger URL; a PostgreSQL schema is dropped afterwards."""
    if not pg:
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    schema = f"ll_bench_{name}_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{dsn}?schema={schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass
class Running:
    """A started server: its URL and process (the one to profile)."""

    base: str
    process: subprocess.Popen[bytes]


@contextmanager
def server(url: str, creds: Credentials, workdir: Path, workers: int) -> Iterator[str]:
    """`leadledger serve` on a free port, healthy within 30 s; stopped on the way out."""
    with served(url, creds, workdir, workers) as running:
        yield running.base


def serve_command(app: str, port: int, workers: int) -> list[str]:
    """`leadledger serve`, or a baseline (bench.baselines) under the same uvicorn settings."""
    if app == "leadledger":
        return [leadledger_bin(), "serve", "--port", str(port), "--workers", str(workers)]
    baseline = [sys.executable, "-m", "bench.baselines", app]
    return [*baseline, "--port", str(port), "--workers", str(workers)]


@contextmanager
def served(
    url: str,
    creds: Credentials,
    workdir: Path,
    workers: int,
    app: str = "leadledger",
    config_toml: str | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[Running]:
    """`app` on a free port, healthy within 30 s; stopped on the way out. `config_toml`:
    a workspaces file (the env secret and key then apply to each of its workspaces);
    `settings`: more LEADLEDGER_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(
        PYTHONUNBUFFERED="1",
        LEADLEDGER_DATABASE_URL=url,
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={creds.api_key}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=creds.kapso_secret,
        LEADLEDGER_DATA_DIR=str(workdir),
        LEADLEDGER_LOG_LEVEL="warning",  # no access log: it would cost the server CPU
    )
    env.update(settings or {})
    if config_toml is not None:
        config = workdir / "workspaces.toml"
        config.write_text(config_toml, encoding="utf-8")
        env["LEADLEDGER_CONFIG_FILE"] = str(config)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command(app, port, workers),
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
        yield Running(base, process)
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


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its live descendants (the
    uvicorn workers), from /proc; 0.0 where /proc is not there."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text(encoding="ascii")
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text(encoding="ascii").split()
                todo += [int(child) for child in children]
        except (OSError, ValueError, IndexError):
            continue
    return total
