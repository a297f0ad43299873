"""The per-delivery CPU budget: µs of server CPU per delivery, by stage, from a py-spy profile.

py-spy samples, in every server process, the thread holding the GIL (`--gil --format
raw`): each sample is Python-level CPU work, never a wait (a thread waiting on a lock, on
SQLite's write lock or on an fsync has let the GIL go). The samples' count at the known
rate gives the CPU time spent holding the GIL; the rest of the server's measured CPU
(from /proc, all its processes, over the same load) ran without the GIL: C code that
releases it (SQLite's and psycopg's work inside a statement) and the kernel's work for
the process (scheduling its threads, I/O), counted here as SQL; perf's split by binary
(bench/native.py, in the ingest section) says how much of it is the database engine.
On a busy machine this split leans the other way: a thread that holds the GIL while it
waits for a CPU counts as holding it, so the table says when the samples covered all the
CPU (nothing left for C code without the GIL). Each GIL sample is given
to one stage by the rules below, and the shares are scaled so that the stages add up to
the server CPU per delivery measured at the same concurrency without the profiler.

The rules, in order (first that holds decides):

1. views: any frame on the stack is a projection or the reducer (`projections/`,
   `domain/reducer/`, or a function whose name says it projects): whatever the view work
   calls (its SQL, its decoding) is the views' cost, the price of keeping them current.
2. Otherwise the innermost frame that belongs to a stage decides:
   - encode+encrypt: the event store's sealing and JSON (`adapters/eventstore/sealing.py`,
     `fast_json.py`), `adapters/keys/`, `cryptography`, eventsourcing's mapper and
     transcoder (`eventsourcing/persistence.py`, `cipher.py`, `compressor.py`);
   - SQL: `sqlalchemy`, `sqlite3`, `psycopg`, `psycopg_pool`, eventsourcing's recorders
     (`eventsourcing/sqlite.py`, `postgres.py`), the ledger's own recorder and tables
     (`adapters/eventstore/` otherwise), the plain table's `write`;
   - verify: `adapters/webhooks/signatures.py`, `hmac`, the plain table's `verified`;
   - translate: `adapters/webhooks/` otherwise, `api/http/body.py` (the JSON parse), the
     plain table's `parsed`/`rows_of`;
   - HTTP: `uvicorn`, `starlette`, `h11`, `httptools`, `anyio`, `asyncio`, `uvloop`,
     `api/` otherwise (routing, auth, answering);
3. other: the rest (the domain's aggregates, the service layer's group commit, the
   interpreter's own frames).

Libraries that serve several stages (`pydantic`, `phonenumbers`, the standard library but
`hmac` and `sqlite3`) have no rule: their caller's stage counts, so pydantic building the
webhook's answer is HTTP and pydantic reading a payload is translate.

Frames are matched on their file path (relative to site-packages or this checkout) and
function name, so the rules hold wherever the checkout lives.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.profiling import ROOT, SITE, WAITS

STAGES = ("HTTP", "verify", "translate", "encode+encrypt", "SQL", "views", "other")

VIEWS_PATHS = ("projections/", "domain/reducer/")
VIEWS_NAMES = ("project", "inline_view", "apply_views")
# (stage, path prefixes, function names that decide regardless of path); first match wins
# for the innermost frame that matches any.
RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "encode+encrypt",
        (
            "adapters/eventstore/sealing.py",
            "adapters/eventstore/fast_json.py",
            "adapters/keys/",
            "cryptography/",
            "eventsourcing/persistence.py",
            "eventsourcing/cipher.py",
            "eventsourcing/compressor.py",
        ),
        (),
    ),
    (
        "SQL",
        (
            "sqlalchemy/",
            "sqlite3/",
            "psycopg/",
            "psycopg_pool/",
            "eventsourcing/sqlite.py",
            "eventsourcing/postgres.py",
            "adapters/eventstore/",
        ),
        ("write",),
    ),
    ("verify", ("adapters/webhooks/signatures.py", "hmac.py"), ("verified",)),
    (
        "translate",
        ("adapters/webhooks/", "api/http/body.py"),
        ("parsed", "rows_of"),
    ),
    (
        "HTTP",
        ("uvicorn/", "starlette/", "h11/", "httptools/", "anyio/", "asyncio/", "uvloop/", "api/"),
        (),
    ),
)
# Function names are only trusted in the plain-table baseline's own file.
BASELINE = "bench/baselines.py"


def frame_parts(frame: str) -> tuple[str, str]:
    """`func (/abs/path/file.py:12)` -> (`func`, the path relative to site-packages, this
    checkout, or the standard library)."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if SITE in path:
        path = path.split(SITE, 1)[1]
    elif ROOT in path:
        path = path.split(ROOT, 1)[1]
    elif "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].split("/", 1)[-1]  # stdlib: `hmac.py`
    return name, path


def stage_of(frame: str) -> str | None:
    name, path = frame_parts(frame)
    name = name.rsplit(".", 1)[-1]  # `PlainTable.write` -> `write`
    for stage, prefixes, names in RULES:
        if path.startswith(prefixes):
            return stage
        if names and path == BASELINE and name in names:
            return stage
    return None


def is_view(frame: str) -> bool:
    name, path = frame_parts(frame)
    return path.startswith(VIEWS_PATHS) or name.rsplit(".", 1)[-1].startswith(VIEWS_NAMES)


def classify(frames: list[str]) -> str | None:
    """The stage of one sample (outermost frame first); None: waiting, not CPU work."""
    if not frames or frames[-1].rsplit(":", 1)[0].endswith(WAITS):
        return None
    if any(is_view(f) for f in frames):
        return "views"
    for frame in reversed(frames):
        if (stage := stage_of(frame)) is not None:
            return stage
    return "other"


def shares(raw: str) -> tuple[dict[str, float], int]:
    """Each stage's share of the CPU samples in py-spy raw output, and how many there were."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if " (" in f]
        stage = classify(frames)
        if stage is not None:
            counts[stage] += int(count_text)
    total = sum(counts.values())
    return {s: counts[s] / total if total else 0.0 for s in STAGES}, total


def budget(
    raw: str, cpu_us_per_delivery: float, profiled_cpu_s: float, rate_hz: float
) -> dict[str, Any]:
    """µs per delivery by stage: the measured CPU split by the profile. `profiled_cpu_s`:
    the server's CPU while the profile was taken; the GIL samples cover `samples/rate_hz`
    of it, the rest (C code without the GIL) goes to SQL."""
    split, samples = shares(raw)
    if not samples or profiled_cpu_s <= 0:
        return {"samples": samples, "cpu_us_per_delivery": cpu_us_per_delivery, "us": {}}
    with_gil = min(1.0, samples / rate_hz / profiled_cpu_s)
    us = {s: split[s] * with_gil * cpu_us_per_delivery for s in STAGES}
    us["SQL"] += (1 - with_gil) * cpu_us_per_delivery
    return {
        "without_gil_us": (1 - with_gil) * cpu_us_per_delivery,
        "samples": samples,
        "cpu_us_per_delivery": cpu_us_per_delivery,
        "gil_share": with_gil,
        "us": us,
    }


def table(budgets: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: one column per server, one row per stage, µs per delivery."""
    names = [n for n, b in budgets.items() if b.get("us")]
    if not names:
        return ["No CPU budget: py-spy took no samples (is it installed? `bash bench/setup.sh`)."]
    lines = [
        "| stage | "
        + " | ".join(f"{n} µs/delivery" for n in names)
        + " |"
        + (" difference µs |" if len(names) == 2 else ""),
        "|---|" + "---:|" * (len(names) + (1 if len(names) == 2 else 0)),
    ]
    for stage in STAGES:
        values = [budgets[n]["us"][stage] for n in names]
        row = f"| {stage} | " + " | ".join(f"{v:.0f}" for v in values) + " |"
        if len(values) == 2:
            row += f" {values[0] - values[1]:+.0f} |"
        lines.append(row)
        if stage == "SQL":
            values = [budgets[n].get("without_gil_us", 0.0) for n in names]
            row = "| … of which without the GIL | " + " | ".join(f"{v:.0f}" for v in values)
            lines.append(
                row + " |" + (f" {values[0] - values[1]:+.0f} |" if len(values) == 2 else "")
            )
    totals = [budgets[n]["cpu_us_per_delivery"] for n in names]
    row = "| **total (measured CPU)** | " + " | ".join(f"**{t:.0f}**" for t in totals) + " |"
    if len(totals) == 2:
        row += f" {totals[0] - totals[1]:+.0f} |"
    lines.append(row)
    samples = "; ".join(
        f"{n}: {budgets[n]['samples']} samples, {100 * budgets[n].get('gil_share', 1):.0f} % "
        "of its CPU with the GIL"
        for n in names
    )
    lines += [
        "",
        f"(py-spy GIL samples behind the shares: {samples}. The CPU spent without the GIL is "
        "counted in SQL: SQLite's and psycopg's C code and the kernel's work for the server "
        "(scheduling its threads, I/O); the perf split below, where measured, says how much "
        "of each.)",
    ]
    if any(budgets[n].get("gil_share", 0.0) >= 0.98 for n in names):
        lines += [
            "",
            "The GIL was held for (about) as long as the server used CPU: on a busy machine a "
            "thread waiting for a CPU holds it too, so the CPU SQLite spent without the GIL "
            "is not separated here and is spread over the stages by their Python share.",
        ]
    return lines
