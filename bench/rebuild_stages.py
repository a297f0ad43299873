"""Where a rebuild's time goes: py-spy samples (raw format, `--subprocesses`) of the
`leadledger projections rebuild` process and its worker processes, grouped by stage.

A sample is one stack, `process P:"cmd";[process Q:"cmd";]func (path:line);... count`
(a worker's stack is nested under its parent's process frame). The stages below are
tried in order; the first with a frame anywhere on the stack takes the sample, so a
stage nested in another (the change feed's rows inside the page's writes) is listed
before it. Frames match on function name (a method's last part too) and file path,
relative to site-packages or the checkout, so a profile taken with or without py-spy's
`--full-filenames` reads the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.profiling import ROOT, SITE

# (function name, or "" for any; file path prefix). Nearly all the code they name is in
# projections/ (the fill and its writer, projections/writer.py) and domain/reducer/.
Needle = tuple[str, str]
STARTUP = "start-up and exit (imports, interpreter)"
FEED = "change feed: items (changes_of) and their rows"
STAGES: tuple[tuple[str, tuple[Needle, ...]], ...] = (
    (STARTUP, (("_find_and_load", ""),)),
    ("build indexes", (("create_indexes", "projections/rebuild.py"),)),
    ("merge scratch files (SQLite)", (("_merge", "projections/parallel_fill.py"),)),
    (
        "create and drop tables",
        (
            ("drop_generation", "projections/rebuild.py"),
            ("create_tables", "projections/rebuild.py"),
            ("", "sqlalchemy/sql/ddl.py"),
        ),
    ),
    ("commit", (("do_commit", "sqlalchemy/"), ("do_release_savepoint", "sqlalchemy/"))),
    (FEED, (("changes_of", "domain/reducer/changes.py"), ("write", "projections/feed_rows.py"))),
    (
        "read stored events (SQL)",
        (
            ("select_after", "projections/source.py"),
            ("select_partition", "projections/partition_read.py"),
            ("select_notifications", "eventsourcing/"),
            ("read_page.<locals>.<listcomp>", "projections/source.py"),  # a partition's own
        ),
    ),
    (
        "decode events (store's mapper, keys)",
        (("_lead_events", "projections/source.py"), ("to_ledger_event", "projections/")),
    ),
    (
        "load views and messages",
        (
            ("_load_views", "projections/writer.py"),
            ("_load_messages", "projections/writer.py"),
            ("stuck_leads", "projections/writer.py"),
        ),
    ),
    (
        "fold (reducer apply, snapshots)",
        (("apply", "domain/reducer/fold.py"), ("taken", "projections/snapshots.py")),
    ),
    (
        "SQL writes (views, positions)",
        (("", "sqlalchemy/"), ("", "sqlite3/"), ("", "psycopg/")),
    ),
    (  # after the SQL: the rest of `_write` is building its rows
        "encode view rows (contacts, history, notes, messages)",
        (
            ("encode", "projections/rows.py"),
            ("search_text", "projections/search.py"),
            ("_write", "projections/writer.py"),
        ),
    ),
    ("the page's own loop (apply_page)", (("apply_page", "projections/writer.py"),)),
)
OTHER = "other"


@dataclass(frozen=True)
class Profile:
    """Samples per stage, and per process and thread (`--threads`) to show whose they are."""

    stages: Counter[str]
    processes: Counter[str]  # `pid (command's last word)`
    threads: Counter[tuple[str, str]]  # (process, `(tid)[: name]`; "" without --threads)

    @property
    def samples(self) -> int:
        return sum(self.stages.values())

    def shares(self) -> list[tuple[str, float]]:
        """Each stage's share of all samples, in the order of STAGES (then other)."""
        total = self.samples
        names = [name for name, _ in STAGES] + [OTHER]
        return [(name, self.stages[name] / total) for name in names] if total else []

    def summary(self) -> dict[str, object]:
        """What the report keeps: how many samples, from which processes and threads."""
        return {
            "samples": self.samples,
            "processes": dict(self.processes.most_common()),
            "threads": {f"{p} {t}".strip(): n for (p, t), n in self.threads.most_common()},
        }


def frame_of(text: str) -> tuple[str, str]:
    """`Class.func (path/to/file.py:12)` -> (`Class.func`, `path/to/file.py`)."""
    name, _, where = text.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for base in (SITE, ROOT):
        if base in path:
            path = path.split(base, 1)[1]
    return name, path


def matches(frame: tuple[str, str], needle: Needle) -> bool:
    name, path = frame
    function, prefix = needle
    named = not function or name == function or name.endswith(f".{function}")
    return named and path.startswith(prefix)


def stage_of(frames: list[tuple[str, str]]) -> str:
    """The first stage with a frame on the stack; a stack of no Python frame at all is
    the interpreter starting or ending."""
    if not frames:
        return STARTUP
    for name, needles in STAGES:
        if any(matches(frame, needle) for frame in frames for needle in needles):
            return name
    return OTHER


def read_profile(raw: str) -> Profile:
    stages: Counter[str] = Counter()
    processes: Counter[str] = Counter()
    threads: Counter[tuple[str, str]] = Counter()
    for line in raw.splitlines():
        stack, _, text = line.rpartition(" ")
        if not text.isdigit():
            continue
        count = int(text)
        parts = stack.split(";") if stack else []
        owners = [p for p in parts if p.startswith("process ")]
        thread = next((p for p in parts if p.startswith("thread (")), "")
        frames = [frame_of(p) for p in parts if " (" in p and p not in owners and p != thread]
        stages[stage_of(frames)] += count
        process = _process(owners[-1]) if owners else "?"
        processes[process] += count
        threads[(process, thread.removeprefix("thread "))] += count
    return Profile(stages, processes, threads)


def _process(frame: str) -> str:
    """`process 812:"/venv/bin/python3 -m projections.rebuild_worker"` -> `812 (rebuild_worker)`."""
    pid, _, command = frame.removeprefix("process ").partition(":")
    words = command.strip('"').split()
    last = words[-1].rsplit("/", 1)[-1].rsplit(".", 1)[-1] if words else "?"
    return f"{pid} ({last})"
