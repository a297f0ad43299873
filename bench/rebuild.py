"""How fast the read models rebuild from the ledger, against how fast the ledger reads raw.

Builds a ledger of --events events over --leads leads (realistic conversations: Kapso
inbound/outbound messages and their statuses, conversations, Sarah's phases, Brain and
human status requests, notes) straight through `services.ledger.record` in large batches,
then runs `leadledger projections rebuild` as a subprocess (its progress bar shows; its
wall time and peak RSS are measured with `/usr/bin/time -v` when available), then
`leadledger projections verify` (must say OK), and times a raw read of every notification
(`store.recorder.select_notifications`, pages of 5,000) and a decode of them, in this run.

    python -m bench.rebuild                        # SQLite, 200,000 events
    python -m bench.rebuild --pg --events 50000    # PostgreSQL
    python -m bench.rebuild --reuse                # keep/reuse the built ledger

The SQLite ledger is bench/out/rebuild-ledger-<events>-<leads>.db; with --pg a schema
ll_bench_rebuild_<events>_<leads> (dropped at the end unless --reuse or --keep). Writes
bench/out/rebuild-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from adapters.database_url import DatabaseURL
from adapters.settings import Settings
from adapters.store import open_store
from api.bootstrap import bootstrap
from api.traffic import BUSINESSES, CITIES, NAMES, PHASES, phone_for
from bench.common import machine
from domain.commands import (
    AddNote,
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG = os.environ.get("LEADLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
WORKSPACE = "bench"
READ_PAGE = 5000

INBOUND_TEXTS = (
    "Halo kak, saya mau tanya soal chatbot untuk toko online saya",
    "Berapa harga paket bulanan?",
    "Boleh minta katalog?",
    "Apakah bisa dipakai untuk banyak admin?",
    "Kalau malam hari chat pelanggan sering tidak terbalas",
    "Oke kak, saya diskusikan dulu dengan partner",
    "Bisa demo hari Senin?",
)
OUTBOUND_TEXTS = (
    "Halo! Saya Sarah dari tim kami. Boleh tahu bisnisnya di bidang apa?",
    "Sudah berapa lama usahanya berjalan, kak?",
    "Paket bulanan mulai dari Rp 299.000, termasuk 3 admin.",
    "Boleh saya kirimkan katalognya?",
    "Terima kasih kak, tim kami akan menghubungi untuk demo.",
)
NOTES = (
    "Called, wants a demo on Monday",
    "Asked for a discount for 12 months",
    "Not the decision maker; owner is her husband",
    "Sent the price list by email",
)
PAIN_POINTS = ("kewalahan balas chat", "miss message malam hari", "admin sering resign")


# -- the ledger ----------------------------------------------------------------------------


@dataclass
class LeadScript:
    """One lead's conversation, produced command by command in time order."""

    index: int
    rng: random.Random
    at: datetime
    phone: str = ""
    conversation: str = ""
    phase: int = 0
    messages: int = 0
    pending: list[tuple[str, int]] = field(default_factory=list)  # (outbound id, statuses)
    step: int = 0

    def __post_init__(self) -> None:
        self.phone = phone_for(self.index)
        self.conversation = f"conv_bench_{self.index}"

    def _said(self, source: str, actor: str, key: str | None = None) -> Said:
        self.at += timedelta(seconds=self.rng.randint(5, 900))
        received = self.at + timedelta(milliseconds=self.rng.randint(50, 1500))
        occurred = self.at if source in ("kapso", "meta") else None
        return Said(source, actor, received, occurred, key)

    def _message_id(self, kind: str) -> str:
        self.messages += 1
        return f"wamid.BENCH{kind}{self.index:06d}{self.messages:04d}"

    def next(self) -> LeadCommand:
        self.step += 1
        if self.step == 1:
            name = NAMES[self.index % len(NAMES)]
            return ReportContactName(self.phone, self._said("kapso", "kapso"), name=name)
        if self.step == 2:
            return RecordConversation(
                self.phone, self._said("kapso", "kapso"), conversation_id=self.conversation
            )
        if self.step == 3:
            return self._inbound()
        roll = self.rng.random()
        if roll < 0.25:
            return self._inbound()
        if roll < 0.45:
            return self._outbound()
        if roll < 0.65:
            return self._status() if self.pending else self._inbound()
        if roll < 0.80:
            return self._sarah()
        if roll < 0.90:
            return self._status_request()
        return self._note()

    def _inbound(self) -> RecordInboundMessage:
        return RecordInboundMessage(
            self.phone,
            self._said("kapso", "kapso", f"kapso-{self.rng.getrandbits(64):016x}"),
            message_id=self._message_id("IN"),
            text=self.rng.choice(INBOUND_TEXTS),
            conversation_id=self.conversation,
        )

    def _outbound(self) -> RecordOutboundMessage:
        message_id = self._message_id("OUT")
        self.pending.append((message_id, 0))
        return RecordOutboundMessage(
            self.phone,
            self._said("kapso", "kapso"),
            message_id=message_id,
            text=self.rng.choice(OUTBOUND_TEXTS),
            origin="cloud_api",
            conversation_id=self.conversation,
        )

    def _status(self) -> RecordMessageStatus:
        message_id, done = self.pending.pop(0)
        status = ("sent", "delivered", "read")[done]
        if done < 2:
            self.pending.insert(0, (message_id, done + 1))
        return RecordMessageStatus(
            self.phone, self._said("kapso", "kapso"), message_id=message_id, status=status
        )

    def _sarah(self) -> ReportSarahPhase:
        step = min(self.phase, len(PHASES) - 1)
        self.phase += 1
        data: dict[str, Any] = {
            "name": NAMES[self.index % len(NAMES)].split()[0],
            "business_type": self.rng.choice(BUSINESSES),
            "domisili": self.rng.choice(CITIES) if step > 1 else None,
        }
        if step >= 4:
            data["pain_points"] = self.rng.sample(PAIN_POINTS, 2)
            data["urgency_level"] = self.rng.choice(["low", "medium", "high"])
        if step >= 7:
            data["objection_raised"] = self.rng.choice(["harga", "waktu", None])
        return ReportSarahPhase(
            self.phone,
            self._said("sarah", "sarah-bot", f"sarah-{self.index}-{self.phase}"),
            chat_phase=PHASES[step],
            extracted_data=data,
            lead_score=min(100, 10 * step + self.rng.randint(0, 9)),
            lead_temperature=self.rng.choice(["hot", "warm", "lukewarm", "cold"]),
        )

    def _status_request(self) -> RequestStatus:
        human = self.rng.random() < 0.3
        source, actor = ("human", "dewi") if human else ("brain", "brain-v2")
        return RequestStatus(
            self.phone,
            self._said(source, actor, f"status-{self.index}-{self.step}"),
            status=self.rng.choice(["qualified", "contacted", "converted", "archived"]),
            reason=self.rng.choice([None, "asked for a demo", "not a fit", "paid invoice"]),
        )

    def _note(self) -> AddNote:
        source, actor = self.rng.choice([("human", "dewi"), ("brain", "brain-v2")])
        return AddNote(
            self.phone,
            self._said(source, actor, f"note-{self.index}-{self.step}"),
            content=self.rng.choice(NOTES),
        )


def budgets(events: int, leads: int, rng: random.Random) -> list[int]:
    """Events per lead (each >= 2: Registered plus one fact), summing to `events`."""
    mean = events // leads
    counts = [mean] * leads
    for i in range(events - mean * leads):
        counts[i] += 1
    for _ in range(leads):  # spread: some leads talk much more than others
        a, b = rng.randrange(leads), rng.randrange(leads)
        moved = rng.randint(0, max(0, min(counts[a] - 2, mean)))
        counts[a] -= moved
        counts[b] += moved
    return counts


def commands(events: int, leads: int, group: int, seed: int) -> Iterator[list[LeadCommand]]:
    """Interleaved commands of `group` leads at a time (each in its own time order)."""
    rng = random.Random(seed)
    counts = budgets(events, leads, rng)
    start = datetime(2025, 11, 1, 8, 0, tzinfo=UTC)
    for first in range(0, leads, group):
        members = range(first, min(leads, first + group))
        scripts = {
            i: LeadScript(i, random.Random(seed * 1_000_003 + i), start + timedelta(minutes=i))
            for i in members
        }
        # counts[i] events = Registered (with the first command) + counts[i] - 1 commands.
        order = [i for i in members for _ in range(counts[i] - 1)]
        rng.shuffle(order)
        yield [scripts[i].next() for i in order]


def build(url: str, args: argparse.Namespace) -> dict[str, Any]:
    services = bootstrap(Settings(database_url=url, config_file=OUT / "absent.toml"))
    appended, started, last_report = 0, time.perf_counter(), 0.0
    try:
        for group in commands(args.events, args.leads, args.group, args.seed):
            for i in range(0, len(group), args.batch):
                recording = services.ledger.record(WORKSPACE, group[i : i + args.batch])
                appended += recording.appended + len(recording.new_leads)
                now = time.perf_counter()
                if now - last_report > 2:
                    last_report = now
                    rate = appended / (now - started)
                    print(
                        f"  built {appended:,}/{args.events:,} events ({rate:,.0f}/s)", flush=True
                    )
        head = int(services.store.recorder.max_notification_id() or 0)
    finally:
        services.close()
    seconds = time.perf_counter() - started
    if appended != args.events:
        raise SystemExit(f"built {appended} events, wanted {args.events}")
    return {
        "events": appended,
        "head": head,
        "seconds": seconds,
        "events_per_s": appended / seconds,
    }


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    wall: float
    stdout: str
    peak_rss_kb: int | None


def leadledger_bin() -> str:
    beside = Path(sys.executable).with_name("leadledger")
    found = str(beside) if beside.exists() else shutil.which("leadledger")
    if not found:
        raise SystemExit("leadledger is not installed (pip install -e .)")
    return found


def run_cli(url: str, args: list[str], timeout: float) -> Run:
    """`leadledger <args>` with stderr (the progress bar) on this terminal; wall time and
    peak RSS (`/usr/bin/time -v`, else getrusage of children)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(LEADLEDGER_DATABASE_URL=url, LEADLEDGER_CONFIG_FILE=str(OUT / "absent.toml"))
    timing = OUT / ".time-v.txt"
    timer = Path("/usr/bin/time")
    prefix = [str(timer), "-v", "-o", str(timing)] if timer.exists() else []
    timing.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [*prefix, leadledger_bin(), *args],
        env=env,
        cwd=OUT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    peak: int | None = None
    if prefix and timing.exists():
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing.read_text())
        peak = int(found.group(1)) if found else None
        timing.unlink(missing_ok=True)
    if peak is None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak = after if after > before else None  # a max over children: only if it grew
    sys.stdout.write(done.stdout)
    return Run(done.returncode, wall, done.stdout, peak)


def raw_read(url: str, decode: bool) -> dict[str, Any]:
    store = open_store(DatabaseURL.parse(url))
    try:
        count, after, started = 0, 0, time.perf_counter()
        while True:
            page = store.recorder.select_notifications(
                start=after, limit=READ_PAGE, inclusive_of_start=False
            )
            if not page:
                break
            count += len(page)
            after = page[-1].id
        read_seconds = time.perf_counter() - started
        result: dict[str, Any] = {
            "notifications": count,
            "seconds": read_seconds,
            "events_per_s": count / read_seconds,
        }
        if decode:
            after, started = 0, time.perf_counter()
            while True:
                page = store.recorder.select_notifications(
                    start=after, limit=READ_PAGE, inclusive_of_start=False
                )
                if not page:
                    break
                for notification in page:
                    store.mapper.to_domain_event(notification)
                after = page[-1].id
            decode_seconds = time.perf_counter() - started
            result["read_and_decode_seconds"] = decode_seconds
            result["read_and_decode_events_per_s"] = count / decode_seconds
        return result
    finally:
        store.close()


# -- where the ledger lives ----------------------------------------------------------------


def sqlite_ledger(args: argparse.Namespace) -> tuple[str, bool]:
    """The URL, and whether an existing ledger is reused."""
    path = OUT / f"rebuild-ledger-{args.events}-{args.leads}.db"
    if args.reuse and path.exists():
        return f"sqlite:///{path}", True
    for suffix in ("", "-wal", "-shm"):
        for candidate in (path, path.with_suffix(".views.db")):
            Path(f"{candidate}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", False


def pg_ledger(args: argparse.Namespace) -> tuple[str, bool, str]:
    schema = f"ll_bench_rebuild_{args.events}_{args.leads}"
    marker = OUT / f"rebuild-pg-{args.events}-{args.leads}.schema"
    url = f"{args.dsn}?schema={schema}"
    if args.reuse and marker.exists():
        return url, True, schema
    marker.unlink(missing_ok=True)
    drop_schema(args.dsn, schema)
    return url, False, schema


def drop_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- main ----------------------------------------------------------------------------------


def rebuild_figures(run: Run, events: int) -> dict[str, Any]:
    # The console wraps long lines: any whitespace may separate the words.
    found = re.search(r"(\d+)\s+positions\s+replayed\s+in\s+([\d.]+)\s+s", run.stdout)
    replayed = int(found.group(1)) if found else events
    seconds = float(found.group(2)) if found else run.wall
    return {
        "exit_code": run.code,
        "wall_seconds": run.wall,
        "reported_seconds": seconds,
        "positions_replayed": replayed,
        "events_per_s": replayed / seconds if seconds else 0.0,
        "events_per_s_wall": replayed / run.wall,
        "peak_rss_mb": None if run.peak_rss_kb is None else run.peak_rss_kb / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--reuse", action="store_true", help="reuse an already built ledger")
    parser.add_argument("--keep", action="store_true", help="--pg: keep the schema")
    parser.add_argument(
        "--batch", type=int, default=20_000, help="commands per record() (one transaction)"
    )
    parser.add_argument("--group", type=int, default=1000, help="leads interleaved at once")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=3600, help="per subprocess, seconds")
    parser.add_argument("--no-decode", action="store_true", help="skip the decode timing")
    args = parser.parse_args()
    if args.leads < 1 or args.events < 2 * args.leads:
        parser.error("need --leads >= 1 and --events >= 2 * --leads")
    OUT.mkdir(parents=True, exist_ok=True)
    backend = "postgres" if args.pg else "sqlite"
    schema: str | None = None
    if args.pg:
        url, reused, schema = pg_ledger(args)
    else:
        url, reused = sqlite_ledger(args)
    try:
        result = measure(url, reused, backend, args)
    finally:
        if schema is not None:
            if args.keep or args.reuse:
                (OUT / f"rebuild-pg-{args.events}-{args.leads}.schema").write_text(schema + "\n")
            else:
                drop_schema(args.dsn, schema)
    out = OUT / f"rebuild-{backend}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if not result["verify"]["ok"] or result["rebuild"]["exit_code"] != 0:
        sys.exit(1)


def measure(url: str, reused: bool, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    m = machine()
    print(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, {m['platform']}")
    if reused:
        print(f"{backend}: reusing the ledger at {url}")
        built: dict[str, Any] = {"reused": True}
    else:
        print(f"{backend}: building {args.events:,} events over {args.leads:,} leads")
        built = {"reused": False, **build(url, args)}
        print(
            f"built {built['events']:,} events in {built['seconds']:.1f} s "
            f"({built['events_per_s']:,.0f} events/s)"
        )
    print("$ leadledger projections rebuild", flush=True)
    rebuilt = rebuild_figures(run_cli(url, ["projections", "rebuild"], args.timeout), args.events)
    print("$ leadledger projections verify", flush=True)
    checked = run_cli(url, ["projections", "verify"], args.timeout)
    read = raw_read(url, not args.no_decode)
    if read["notifications"] != args.events:
        print(f"warning: the ledger holds {read['notifications']:,} events, not {args.events:,}")
    ratio = read["events_per_s"] / rebuilt["events_per_s"] if rebuilt["events_per_s"] else 0.0
    rss = rebuilt["peak_rss_mb"]
    print(
        f"rebuild: {rebuilt['positions_replayed']:,} events in {rebuilt['reported_seconds']:.1f} s "
        f"= {rebuilt['events_per_s']:,.0f} events/s (wall incl. start-up "
        f"{rebuilt['wall_seconds']:.1f} s = {rebuilt['events_per_s_wall']:,.0f} events/s), "
        f"peak RSS {'n/a' if rss is None else f'{rss:.0f} MB'}"
    )
    print(
        f"raw read: {read['notifications']:,} notifications in {read['seconds']:.2f} s "
        f"= {read['events_per_s']:,.0f} events/s (pages of {READ_PAGE:,})"
        + (
            f"; read + decode {read['read_and_decode_seconds']:.1f} s "
            f"= {read['read_and_decode_events_per_s']:,.0f} events/s"
            if "read_and_decode_seconds" in read
            else ""
        )
    )
    print(f"ratio raw read / rebuild: {ratio:.1f}x")
    verify_ok = checked.code == 0 and checked.stdout.lstrip().startswith("OK")
    verify_rss = None if checked.peak_rss_kb is None else checked.peak_rss_kb / 1024
    print(f"verify: {'OK' if verify_ok else 'FAILED'} in {checked.wall:.1f} s")
    return {
        "backend": backend,
        "events": args.events,
        "leads": args.leads,
        "build": built,
        "rebuild": rebuilt,
        "verify": {
            "ok": verify_ok,
            "exit_code": checked.code,
            "wall_seconds": checked.wall,
            "peak_rss_mb": verify_rss,
            "output": checked.stdout.strip(),
        },
        "raw_read": read,
        "ratio_raw_read_to_rebuild": ratio,
        "machine": m,
    }


if __name__ == "__main__":
    main()
