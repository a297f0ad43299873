"""A synthetic ledger for the rebuild and query benchmarks, built fast.

The conversations of bench/lead_scripts.py are applied to real `Lead` aggregates (the
domain's own dedup and events) held in memory, and saved through the store
`events_per_save(pg)` events per transaction (20,000 on SQLite, 2,000 on PostgreSQL): the
store maps, records and snapshots them exactly as the app does, without a load per command.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from adapters.config.settings import Settings
from bench.common import OUT, WORKSPACE
from bench.lead_scripts import BIG_EVENTS, command_groups
from domain.lead import Lead
from service_layer.bootstrap import bootstrap


def build(url: str, events: int, leads: int, seed: int = 7, batch: int = 20_000) -> dict[str, Any]:
    """Record the ledger; returns what was built and how fast."""
    if leads < 2 or events - BIG_EVENTS < 2 * (leads - 1):
        raise SystemExit(f"need >= 2 leads and >= {BIG_EVENTS} + 2 events per other lead")
    services = bootstrap(Settings(database_url=url, config_file=OUT / "absent.toml"))
    store = services.store
    appended, started, reported = 0, time.perf_counter(), 0.0
    try:
        for commands in command_groups(events, leads, seed, group=1000):
            held: dict[str, Lead] = {}
            waiting = 0
            for command in commands:
                lead = held.get(command.phone)
                if lead is None:
                    lead = held[command.phone] = Lead(
                        workspace=WORKSPACE, phone=command.phone, **command.said.fields()
                    )
                command.apply(lead)
                waiting += 1
                if waiting >= batch:
                    appended += _save(store, held)
                    waiting = 0
            appended += _save(store, held)
            now = time.perf_counter()
            if now - reported > 2:
                reported = now
                rate = appended / (now - started)
                print(f"  built {appended:,}/{events:,} events ({rate:,.0f}/s)", flush=True)
        head = int(store.recorder.max_notification_id() or 0)
    finally:
        services.close()
    seconds = time.perf_counter() - started
    if appended != events:
        raise SystemExit(f"built {appended} events, wanted {events}")
    rate = appended / seconds
    return {"events": appended, "head": head, "seconds": seconds, "events_per_s": rate}


def _save(store: Any, held: dict[str, Lead]) -> int:
    touched = [lead for lead in held.values() if lead.pending_events]
    count = sum(len(lead.pending_events) for lead in touched)
    if touched:
        store.keys.ensure(lead.id for lead in touched)  # new leads' keys: one transaction
        store.save(*touched)
    return count


# -- where the ledger lives ----------------------------------------------------------------


def sqlite_ledger(events: int, leads: int, reuse: bool) -> tuple[str, bool]:
    """The URL of bench/out/ledger-<events>-<leads>.db, and whether it is reused."""
    path = OUT / f"ledger-{events}-{leads}.db"
    if reuse and path.exists() and not Path(f"{path}.building").exists():
        return f"sqlite:///{path}", True
    for suffix in ("", "-wal", "-shm"):
        for candidate in (path, path.with_suffix(".views.db"), path.with_suffix(".keys.db")):
            Path(f"{candidate}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", False


def pg_ledger(dsn: str, events: int, leads: int, reuse: bool) -> tuple[str, bool]:
    """The URL of schema ll_bench_ledger_<events>_<leads>, and whether it is reused (a
    marker file under bench/out/ says it was built completely)."""
    schema = f"ll_bench_ledger_{events}_{leads}"
    if reuse and pg_marker(events, leads).exists():
        return f"{dsn}?schema={schema}", True
    drop_pg_ledger(dsn, events, leads)
    return f"{dsn}?schema={schema}", False


def drop_pg_ledger(dsn: str, events: int, leads: int) -> None:
    pg_marker(events, leads).unlink(missing_ok=True)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "ll_bench_ledger_{events}_{leads}" CASCADE')


def pg_marker(events: int, leads: int) -> Path:
    return OUT / f"ledger-pg-{events}-{leads}.built"


def events_per_save(pg: bool) -> int:
    """Events per transaction while building. PostgreSQL's 2,000 date from psycopg's
    pipeline stalling on one 20,000-event insert (docs/reliability.md, gap 6 - fixed since
    by adapters/eventstore/pg_recorder.py); kept, so built ledgers stay comparable."""
    return 2_000 if pg else 20_000


def ledger(
    pg: bool, dsn: str, events: int, leads: int, reuse: bool, seed: int = 7
) -> tuple[str, dict[str, Any]]:
    """A built ledger (reused when asked and complete): its URL and the build figures."""
    OUT.mkdir(parents=True, exist_ok=True)
    if pg:
        url, reused = pg_ledger(dsn, events, leads, reuse)
    else:
        url, reused = sqlite_ledger(events, leads, reuse)
    if reused:
        print(f"reusing the ledger at {url}")
        return url, {"reused": True}
    print(f"building {events:,} events over {leads:,} leads at {url}", flush=True)
    building = OUT / f"ledger-{events}-{leads}.db.building"
    building.touch()
    batch = events_per_save(pg)
    built = {"reused": False, "events_per_save": batch, **build(url, events, leads, seed, batch)}
    building.unlink()
    if pg:
        pg_marker(events, leads).touch()
    print(f"built {events:,} events in {built['seconds']:.1f} s ({built['events_per_s']:,.0f}/s)")
    return url, built
