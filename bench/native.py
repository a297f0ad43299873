"""What py-spy cannot see: where a server's CPU goes by binary (perf), and how often its
threads are switched out (context switches, from /proc).

py-spy samples Python stacks: CPU spent without the GIL (SQLite's and psycopg's C code,
the kernel's work on the process's behalf) shows up only as a remainder, which the CPU
budget counts as SQL. `perf record` samples every thread at a fixed rate whatever it
runs, so its shares by binary say how much of that remainder is the database engine and
how much the kernel: for a server whose threads hand work to each other, mostly the
scheduler, one futex wake and one switch per hand-off.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

from bench.process_tree import descendants

PERF_HZ = 499  # prime: never in step with a timer of the server's
# Binaries by kind, tried in order: (kind, pattern on perf's "shared object" name).
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kernel", re.compile(r"^\[(kernel\.kallsyms|vdso|unknown)\]$")),
    ("Python interpreter", re.compile(r"^(libpython3[\d.]*\.so|python3[\d.]*$)")),
    ("SQLite", re.compile(r"^(libsqlite3\.so|_sqlite3\.)")),
    ("PostgreSQL driver", re.compile(r"^(libpq\.so|_psycopg\.)")),
    ("C library (malloc, strings, locks)", re.compile(r"^(libc\.so|ld-linux|libm\.so)")),
)
OTHER = "compiled extensions (uvloop, pydantic-core, orjson, cryptography, ...)"
ORDER = [kind for kind, _ in KINDS] + [OTHER]
_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S.*?)\s*$")


def perf_binary() -> str | None:
    return shutil.which("perf")


def tree_pids(pid: int) -> list[int]:
    """`pid` and its live descendants (a server's uvicorn workers)."""
    return [pid, *descendants(pid)]


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches so far of every thread of `pid` and its
    descendants (threads that ended are not counted: a server's live for a level)."""
    total = 0
    for process in tree_pids(pid):
        try:
            tasks = list(Path(f"/proc/{process}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                status = (task / "status").read_text("ascii")
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    total += int(line.rsplit(None, 1)[1])
    return total


def record(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Start `perf record` on `pid`'s process tree (every thread, PERF_HZ, no stacks);
    None when perf is not installed. Stop it with `stop`."""
    binary = perf_binary()
    if binary is None:
        return None
    pids = ",".join(str(p) for p in tree_pids(pid))
    command = [binary, "record", "-F", str(PERF_HZ), "-p", pids, "-o", str(out), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(perf: subprocess.Popen[bytes], out: Path) -> dict[str, float] | str:
    """Stop the recording and read it: % of samples by kind of binary, or why there are
    none (perf may be refused by the kernel's perf_event_paranoid)."""
    perf.send_signal(signal.SIGINT)
    try:
        perf.wait(timeout=60)
    except subprocess.TimeoutExpired:
        perf.kill()
        return "perf did not stop"
    binary = perf_binary()
    if binary is None or not out.exists():
        return "perf recorded nothing (perf_event_paranoid?)"
    report = subprocess.run(
        [
            binary,
            "report",
            "-i",
            str(out),
            "--stdio",
            "--sort",
            "dso",
            "--percent-limit",
            "0",
            "--no-children",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    shares = shares_by_kind(report.stdout)
    return shares or f"perf report read no samples: {report.stderr.strip()[-300:]}"


def shares_by_kind(report: str) -> dict[str, float]:
    """`perf report --sort dso --stdio` output -> % of samples by kind of binary."""
    shares: dict[str, float] = {}
    for line in report.splitlines():
        if line.startswith("#"):
            continue
        found = _LINE.match(line)
        if found is None:
            continue
        kind = kind_of(found.group(2))
        shares[kind] = shares.get(kind, 0.0) + float(found.group(1))
    return {kind: round(shares[kind], 1) for kind in ORDER if kind in shares}


def kind_of(binary: str) -> str:
    for kind, pattern in KINDS:
        if pattern.search(binary):
            return kind
    return OTHER


def table(shares: dict[str, dict[str, float]], switches: dict[str, float]) -> list[str]:
    """Markdown: each binary kind's share for each server, and switches per delivery."""
    apps = list(shares)
    lines = [
        "| where (perf samples, all threads) | " + " | ".join(f"{a} %" for a in apps) + " |",
        "|---|" + "---:|" * len(apps),
    ]
    for kind in ORDER:
        if any(kind in shares[a] for a in apps):
            cells = " | ".join(f"{shares[a].get(kind, 0.0):.1f}" for a in apps)
            lines.append(f"| {kind} | {cells} |")
    if switches:
        cells = " | ".join(f"{switches[a]:.1f}" if a in switches else "-" for a in apps)
        lines.append(f"| context switches per delivery (count, not %) | {cells} |")
    return lines
