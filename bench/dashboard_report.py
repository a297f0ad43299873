"""The dashboard bench's report: one aim per page (p99 under 50 ms, issue 16) and its
section of docs/performance.md."""

from __future__ import annotations

from typing import Any

AIM_MS = 50.0


def report(figures: dict[str, Any], command: str) -> dict[str, Any]:
    pages: dict[str, dict[str, float]] = figures["pages"]
    scale = f"{figures['leads']:,} leads, {figures['events']:,} events, {figures['backend']}"
    aims = [
        {
            "aim": f"dashboard: {name} ({scale})",
            "target": f"p99 < {AIM_MS:.0f} ms",
            "measured": f"p99 {found['p99']:.1f} ms",
            "met": found["p99"] < AIM_MS,
        }
        for name, found in pages.items()
    ]
    load = ", ".join(f"{x:.1f}" for x in figures["load_average"])
    lines = [
        f"`{command}`: {scale}; a real `leadledger serve` (1 worker) over HTTP, one "
        f"signed-in session per list view (its filters live in the session), requests one "
        f"after another, {figures['repeat']} per page after a first one; "
        f"{figures['machine']['nproc']} CPUs, load average {load}.",
        "",
        "| page | first (cold) | p50 | p90 | p99 | max | aim |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in pages.items():
        met = "met" if r["p99"] < AIM_MS else "**not met**"
        lines.append(
            f"| {name} | {r['first']:.1f} ms | {r['p50']:.1f} ms | {r['p90']:.1f} ms | "
            f"**{r['p99']:.1f} ms** | {r['max']:.1f} ms | p99 < {AIM_MS:.0f} ms: {met} |"
        )
    lines += [
        "",
        "Times are the client's, from sending the request to the whole page read: routing, "
        "the session cookie, the reads (a keyset page of 50 on an index, the counts by "
        "status, the change stream's head), the Jinja2 templates and HTTP. The lead page "
        "reads the lead's view, its newest 100 timeline rows of each kind and the facts of "
        "its events (kept per lead version: `ledger_facts.py`), so only its first request "
        "reads and decrypts the 1,000 events.",
    ]
    return {
        "section": "Dashboard pages (sqlite)",
        "command": command,
        "markdown": "\n".join(lines),
        "aims": aims,
        "figures": figures,
    }
