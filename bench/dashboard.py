"""How fast the dashboard's pages are served: a real `leadledger serve` (one worker) over
HTTP, a signed-in session (cookie, as a browser), on bench/ledger.py's ledger (100,000
leads, 1,000,000 events; `--quick` 1,000 leads). Pages: the leads list (first page, with
filters, a text search, the cursor's second page) and the page of the lead with 1,000
events. Aim (issue 16): p99 under 50 ms each. The first request of each page (cold:
templates, caches, the lead's events read and decrypted) is reported beside.

    python -m bench.dashboard --reuse        # full size; reuses bench.rebuild's ledger
    python -m bench.dashboard --quick        # a smoke run (seconds)

Writes the section's JSON answer (`--out`, default bench/out/dashboard.json); `python -m
bench.run` keeps it in bench/results/dashboard.json (rendered by bench/dashboard_report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import httpx

from adapters.config.settings import Settings
from bench.common import OUT, WORKSPACE, Credentials, machine, served, summary
from bench.dashboard_report import report
from bench.lead_scripts import BIG_PHONE
from bench.ledger import ledger
from domain.identity import lead_id_for
from projections.rebuild import rebuild
from projections.source import head
from projections.state import read_state
from service_layer.bootstrap import bootstrap

FULL = (1_000_000, 100_000)
QUICK = (5_000, 1_000)  # the big lead's 1,000 events, and 2 events for each other lead
FILTERED = {"status": "qualified", "temperature": "hot", "sort": "lead_score"}
SEARCH = {"q": "budi"}  # a name part: a text search over every lead of the workspace


def views_built(url: str) -> None:
    """The views at the ledger's head (`leadledger projections rebuild` when behind)."""
    services = bootstrap(Settings(database_url=url, config_file=OUT / "absent.toml"))
    try:
        if services.views.position() < head(services.store):
            print("building the views (leadledger projections rebuild) ...", flush=True)
            with services.engines.read.connect() as conn:
                policy = read_state(conn).active_policy
            rebuild(services.engines.write, services.store, policy)
    finally:
        services.close()


def csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert found is not None, f"no CSRF token on {path}"
    return found.group(1)


def session(base: str, key: str, filters: dict[str, str] | None = None) -> httpx.Client:
    """A client signed in to the dashboard (its cookie), with these list filters."""
    client = httpx.Client(base_url=base, timeout=30)
    signed = client.post("/ui/signin", data={"csrf": csrf(client, "/ui/signin"), "api_key": key})
    assert signed.status_code == 303, f"sign-in: {signed.status_code} {signed.text[:200]}"
    if filters:
        form = {"csrf": csrf(client, "/ui/leads"), **filters}
        assert client.post("/ui/leads/filter", data=form).status_code == 303
    return client


def timed(client: httpx.Client, path: str, repeat: int) -> dict[str, float]:
    """The first request (cold) and the summary of the next `repeat`, in ms."""
    took: list[float] = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}"
    return {"first": took[0], **summary(took[1:])}


def second_page(client: httpx.Client) -> str:
    found = re.search(r'href="(/ui/leads\?cursor=[^"]+)" rel="next"', client.get("/ui/leads").text)
    assert found is not None, "the list has no next page"
    return found.group(1).replace("&amp;", "&")


def measure(url: str, repeat: int) -> dict[str, dict[str, float]]:
    creds = Credentials()
    workdir = OUT / "dashboard-serve"
    workdir.mkdir(parents=True, exist_ok=True)
    big = lead_id_for(WORKSPACE, BIG_PHONE)
    with served(url, creds, workdir, workers=1) as running:
        plain = session(running.base, creds.api_key)
        filtered = session(running.base, creds.api_key, FILTERED)
        search = session(running.base, creds.api_key, SEARCH)
        try:
            return {
                "leads list, first page of 50": timed(plain, "/ui/leads", repeat),
                "leads list, status + temperature, by score": timed(filtered, "/ui/leads", repeat),
                "leads list, text search": timed(search, "/ui/leads", repeat),
                "leads list, cursor page 2": timed(plain, second_page(plain), repeat),
                "lead page, lead with 1,000 events": timed(plain, f"/ui/leads/{big}", repeat),
            }
        finally:
            for client in (plain, filtered, search):
                client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 leads, fewer requests")
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the built ledger")
    parser.add_argument("--repeat", type=int, help="requests per page (default 300; quick 20)")
    parser.add_argument("--out", type=Path, default=OUT / "dashboard.json")
    args = parser.parse_args()
    events, leads = QUICK if args.quick else FULL
    repeat = args.repeat or (20 if args.quick else 300)
    url, _ = ledger(False, "", events, leads, args.reuse)
    views_built(url)
    pages = measure(url, repeat)
    figures = {
        "backend": "sqlite",
        "events": events,
        "leads": leads,
        "repeat": repeat,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "pages": pages,
    }
    command = "python -m bench.dashboard" + " --quick" * args.quick
    result = report(figures, command)
    print(result["markdown"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
