"""A py-spy profile of a server under load, summarised as the frames that cost the most."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SITE = "site-packages/"
# The checkout's own files, wherever it lives: frames are shown relative to it.
ROOT = f"{Path(__file__).resolve().parents[1]}/"
PACKAGES = ("domain/", "adapters/", "projections/", "api/")
# A thread whose innermost frame is in these files waits (py-spy still calls it active).
WAITS = ("/threading.py", "/queue.py")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


RATE_HZ = 100


def record(
    pid: int, seconds: float, out: Path, subprocesses: bool, gil: bool = False
) -> subprocess.Popen[bytes]:
    """Start sampling `pid` at RATE_HZ: threads that are not idle, or with `gil` only the
    thread holding the GIL (a sample is then Python-level CPU work, never a wait)."""
    binary = py_spy()
    if binary is None:
        raise FileNotFoundError("py-spy is not installed")
    command = [binary, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    command += ["--rate", str(RATE_HZ), "--format", "raw", "--output", str(out), "--nonblocking"]
    command.append("--full-filenames")
    if subprocesses:
        command.append("--subprocesses")
    if gil:
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def short(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (pkg/file.py)`, a frame people can read."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if SITE in path:
        path = path.split(SITE, 1)[1]
    elif ROOT in path:
        path = path.split(ROOT, 1)[1]
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{name} ({path})"


def category(frame: str) -> str | None:
    """Where the time goes, by the library (or project package) that runs."""
    path = frame.partition(" (")[2]
    if SITE in path:
        return path.split(SITE, 1)[1].split("/", 1)[0].removesuffix(".py")
    for package in PACKAGES:
        if f"{ROOT}{package}" in path:
            return f"leadledger {package}"
    return None


def summarise(raw: str, top: int = 12) -> dict[str, Any]:
    """Self time by leaf frame, inclusive time by frame and by library, as % of samples."""
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        leaf[short(frames[-1])] += count
        for frame in {short(f) for f in frames}:
            inclusive[frame] += count
        if frames[-1].rsplit(":", 1)[0].endswith(WAITS):
            libraries["waiting (lock, queue, thread pool)"] += count
            continue
        # The innermost library on the stack is the one spending the time.
        for frame in reversed(frames):
            if (where := category(frame)) is not None:
                libraries[where] += count
                break
        else:
            libraries["python stdlib / interpreter"] += count

    def share(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "self": share(leaf, top),
        "inclusive": share(inclusive, 60),
        "libraries": share(libraries, top),
    }


def markdown(summary: dict[str, Any], title: str) -> str:
    if not summary.get("samples"):
        return f"{title}: no samples ({summary.get('error', 'py-spy saw nothing')}).\n"
    lines = [f"{title} ({summary['samples']} samples, % of busy samples):", ""]
    lines.append("| innermost library | % |")
    lines.append("|---|---:|")
    lines += [f"| {name} | {pct} |" for name, pct in summary["libraries"][:8]]
    lines += ["", "| hottest frames (self) | % |", "|---|---:|"]
    lines += [f"| `{name}` | {pct} |" for name, pct in summary["self"][:8]]
    ours = [(n, p) for n, p in summary["inclusive"] if n.partition(" (")[2].startswith(PACKAGES)]
    if ours:
        lines += ["", "| leadledger functions (inclusive) | % |", "|---|---:|"]
        lines += [f"| `{name}` | {pct} |" for name, pct in ours[:8]]
    return "\n".join(lines) + "\n"
