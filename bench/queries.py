"""How fast the dashboard's reads answer on a large ledger's views.

On the views of bench/ledger.py's ledger (100,000 leads; `--quick` 2,000), many times
each, the functions behind the HTTP routes (no HTTP, no JSON): GET /leads with filters
and a sort, a lead by phone (GET /leads/by-phone/{phone}), the status history of the lead
with 1,000 events (GET /leads/{id}/status-history) and that lead as of four moments
(GET /leads/{id}?as_of=...: a replay from the ledger). Reports p50/p90/p99 per query.

    python -m bench.queries --reuse          # after python -m bench.rebuild --reuse
    python -m bench.queries --quick --pg

Writes the JSON report (`--out`, default bench/out/queries-<backend>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from adapters.config.settings import Settings
from adapters.webhooks.traffic import phone_for
from api.http.handlers.lead_queries import itself
from bench.common import DEFAULT_PG, OUT, WORKSPACE, machine, summary
from bench.lead_scripts import BIG_EVENTS, BIG_PHONE
from bench.ledger import drop_pg_ledger, ledger
from domain.identity import lead_id_for
from domain.phone import normalise_phone
from domain.reducer import ContactView
from projections import queries
from projections.as_of import lead_as_of
from projections.queries import LeadQuery, read_views
from projections.rebuild import rebuild
from projections.source import head, lead_history
from projections.state import read_state
from projections.tables import ViewTables
from service_layer.bootstrap import Services, bootstrap

FULL = (1_000_000, 100_000)
QUICK = (20_000, 2_000)  # a smoke test: the aims are for 100,000 leads
LIST_AIM_MS, LEAD_AIM_MS = 10.0, 20.0
LISTS = {
    "list: status=qualified, temperature=hot, by last message": LeadQuery(
        statuses=("qualified",), temperatures=("hot",)
    ),
    "list: 2 statuses, 2 temperatures, by score": LeadQuery(
        statuses=("qualified", "contacted"), temperatures=("hot", "warm"), sort="lead_score"
    ),
    "list: all leads, by last update": LeadQuery(sort="updated_at"),
}


def timed(run: Callable[[], Any], repeat: int) -> list[float]:
    run()  # warm: caches, prepared statements
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        took.append((time.perf_counter() - started) * 1000)
    return took


def measure(services: Services, leads: int, repeat: int) -> dict[str, dict[str, Any]]:
    engine, store = services.engines.read, services.store
    rng = random.Random(3)
    results: dict[str, dict[str, Any]] = {}
    for name, query in LISTS.items():

        def listed(query: LeadQuery = query) -> list[Any]:
            def page(conn: Connection, tables: ViewTables) -> list[Any]:
                return queries.list_leads(conn, tables, WORKSPACE, query)[0]

            return read_views(engine, page)

        results[name] = {"rows": len(listed()), **summary(timed(listed, repeat))}

    def by_phone() -> None:
        # Any spelling, as the route takes it: the local form, normalised.
        local = phone_for(rng.randrange(leads)).replace("+62", "0")
        phone = normalise_phone(local, "ID")
        services.service.read_lead(WORKSPACE, lead_id_for(WORKSPACE, phone), itself)

    results["lead by phone (random lead)"] = summary(timed(by_phone, repeat))
    big = lead_id_for(WORKSPACE, BIG_PHONE)

    def history() -> list[Any]:
        return services.service.read_lead(WORKSPACE, big, queries.status_history)

    results["status history, lead with 1,000 events"] = {
        "rows": len(history()),
        **summary(timed(history, repeat)),
    }
    times = [e.recorded_at for e in lead_history(store, big)]
    assert len(times) == BIG_EVENTS, f"the big lead has {len(times)} events"
    for position in (250, 500, 750, 1000):

        def as_of(at: datetime = times[position - 1]) -> ContactView | None:
            return lead_as_of(engine, store, WORKSPACE, big, at)

        view = as_of()
        assert view is not None
        assert view.version >= position
        took = timed(as_of, max(10, repeat // 3))
        results[f"as_of at position {position}, lead with 1,000 events"] = summary(took)
    return results


def report(
    figures: dict[str, Any], results: dict[str, dict[str, Any]], command: str
) -> dict[str, Any]:
    aims = []
    for name, found in results.items():
        limit = LIST_AIM_MS if name.startswith(("list", "lead by phone")) else LEAD_AIM_MS
        aims.append(
            {
                "aim": f"{name} ({figures['leads']:,} leads, {figures['backend']})",
                "target": f"p99 < {limit:.0f} ms",
                "measured": f"p99 {found['p99']:.1f} ms",
                "met": found["p99"] < limit,
            }
        )
    load = ", ".join(f"{x:.1f}" for x in figures["load_average"])
    lines = [
        f"`{command}`: {figures['leads']:,} leads ({figures['events']:,} events), "
        f"{figures['backend']}, {figures['repeat']} runs each (as_of: a third of that), "
        f"in-process calls of the functions behind the routes; "
        f"{figures['machine']['nproc']} CPUs, load average {load}.",
        "",
        "| query | rows | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {r.get('rows', 1)} | {r['p50']:.2f} ms | {r['p90']:.2f} ms | "
        f"**{r['p99']:.2f} ms** | {r['max']:.2f} ms |"
        for name, r in results.items()
    ]
    lines += [
        "",
        "Lists are keyset pages of 50 served in index order (`NULLS LAST` sorts on "
        "(workspace, sort column, lead id) indexes); a lead by phone is a primary-key "
        "read; the status history is a primary-key range. `as_of` replays the lead's "
        "events from the ledger up to the moment, from the newest view snapshot at or "
        "before it (one every 100 events), so it decodes at most 100 events.",
    ]
    return {
        "section": f"Queries ({figures['backend']})",
        "command": command,
        "markdown": "\n".join(lines),
        "aims": aims,
        "figures": {**figures, "queries": results},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 leads, fewer runs")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--dsn", default=DEFAULT_PG, help="PostgreSQL database (--pg)")
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the built ledger")
    parser.add_argument("--repeat", type=int, help="runs per query (default 300; quick 60)")
    parser.add_argument("--out", type=Path, help="the JSON report")
    args = parser.parse_args()
    events, leads = QUICK if args.quick else FULL
    repeat = args.repeat or (60 if args.quick else 300)
    url, _ = ledger(args.pg, args.dsn, events, leads, args.reuse)
    services = bootstrap(Settings(database_url=url, config_file=OUT / "absent.toml"))
    try:
        if services.views.position() < head(services.store):
            print("building the views (leadledger projections rebuild) ...", flush=True)
            with services.engines.read.connect() as conn:
                policy = read_state(conn).active_policy
            rebuild(services.engines.write, services.store, policy)
        results = measure(services, leads, repeat)
    finally:
        services.close()
    if args.pg and not args.reuse:
        drop_pg_ledger(args.dsn, events, leads)
    figures = {
        "backend": "postgres" if args.pg else "sqlite",
        "events": events,
        "leads": leads,
        "repeat": repeat,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }
    command = "python -m bench.queries" + " --quick" * args.quick + " --pg" * args.pg
    result = report(figures, results, command)
    print(result["markdown"])
    out = args.out or OUT / f"queries-{figures['backend']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
