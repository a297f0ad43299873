"""How fast the dashboard's two main pages answer, through the whole app (routing, session,
service, views, Jinja2), in process: the leads list over 100,000 leads, and the page of
the lead with 1,000 events (its card, provenance, timeline and raw events). Aim: p99 under
50 ms each.

    python -m bench.dashboard                           # 1,000,000 events, 100,000 leads
    python -m bench.dashboard --events 3000 --leads 200 --repeat 20   # a smoke run
    python -m bench.dashboard --reuse                   # keep/reuse the built ledger

Prints a table and writes the JSON report (`--out`, default bench/out/dashboard.json).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from adapters.config.settings import Settings
from api.http.app import create_app
from bench.common import OUT, WORKSPACE, machine, summary
from bench.lead_scripts import BIG_PHONE
from bench.ledger import ledger
from domain.identity import lead_id_for
from projections.rebuild import rebuild
from projections.source import head
from projections.state import read_state
from service_layer.bootstrap import bootstrap

FULL = (1_000_000, 100_000)
AIM_MS = 50.0
KEY = "bench-dashboard-key"


def timed(client: TestClient, path: str, repeat: int) -> dict[str, float]:
    """The first request (cold: templates, caches, the lead's events) and the summary of
    the next `repeat`."""
    started = time.perf_counter()
    first = client.get(path)
    cold = (time.perf_counter() - started) * 1000
    assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:200]}"
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    return {"first": cold, **summary(took)}


def signed_in(client: TestClient) -> None:
    form = client.get("/ui/signin").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', form)
    assert csrf is not None
    client.post("/ui/signin", data={"csrf": csrf.group(1), "api_key": KEY, "name": "bench"})


def measure(url: str, repeat: int) -> dict[str, dict[str, float]]:
    settings = Settings(
        database_url=url, config_file=OUT / "absent.toml", api_keys=SecretStr(f"{WORKSPACE}={KEY}")
    )
    services = bootstrap(settings)
    if services.views.position() < head(services.store):
        print("building the views (leadledger projections rebuild) ...", flush=True)
        with services.engines.read.connect() as conn:
            policy = read_state(conn).active_policy
        rebuild(services.engines.write, services.store, policy)
    big = lead_id_for(WORKSPACE, BIG_PHONE)
    with TestClient(create_app(services.service)) as client:  # closes the services
        signed_in(client)
        return {
            "leads list (first page of 50)": timed(client, "/ui/leads", repeat),
            "lead page, lead with 1,000 events": timed(client, f"/ui/leads/{big}", repeat),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=FULL[0], help="events in the ledger")
    parser.add_argument("--leads", type=int, default=FULL[1], help="leads in the ledger")
    parser.add_argument("--repeat", type=int, default=200, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the built ledger")
    parser.add_argument("--out", type=Path, default=OUT / "dashboard.json")
    args = parser.parse_args()
    url, _ = ledger(False, "", args.events, args.leads, args.reuse)
    results = measure(url, args.repeat)
    lines = [
        f"{args.leads:,} leads, {args.events:,} events, SQLite, {args.repeat} requests each",
        "| page | first | p50 | p90 | p99 | max | aim |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        met = "met" if r["p99"] < AIM_MS else "NOT met"
        lines.append(
            f"| {name} | {r['first']:.1f} ms | {r['p50']:.1f} ms | {r['p90']:.1f} ms | "
            f"**{r['p99']:.1f} ms** | {r['max']:.1f} ms | p99 < {AIM_MS:.0f} ms: {met} |"
        )
    print("\n".join(lines))
    report: dict[str, Any] = {
        "events": args.events,
        "leads": args.leads,
        "repeat": args.repeat,
        "machine": machine(),
        "pages": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
