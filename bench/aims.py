"""The aims of issue 18 (performance, second step), each read from the sections' results.

One row per aim, exactly the issue's: what was measured, whether it is met and, when it
is not, by how much, what the profile shows and what would close it, all generated from
the results (the remedies are the issue's directions, chosen by the stage that costs
most), so the page cannot go stale against its figures. A section not measured shows as
such, with the command that measures it. The "1 vs 2 projection processes" aim reads the
section `projection-processes` (its answer's aims), once a bench writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.ingest_report import AIM_CPU, AIM_PLAIN, at_aim

LAG_MS = 50.0
REBUILD_PER_S = 100_000.0
REBUILD_MB = 300.0
PROJECTIONS = "projection-processes"  # the section that measures 1 vs 2 projection processes
# What would close a gap, by the stage that costs most (the issue's directions).
REMEDY = {
    "views": "fewer rows and index entries in each append's view transaction: the change "
    "feed's items (the largest stage of the rebuild's profile below, and about a third of "
    "the inline views' time in a hand-taken py-spy profile: one row per item, each with "
    "two indexes; derive them on read, or store one row per event), a savepoint per "
    "transaction",
    "encode+encrypt": "one AEAD operation per event instead of per field, and a compiled "
    "encoder end to end",
    "SQL": "this stage is all the CPU spent without the GIL, and the perf split says how "
    "little of it is the database engine: fewer hand-offs between threads per delivery "
    "(the event loop, an ingest thread, the ledger's writer and the views thread each "
    "wake for every delivery, a futex wake and a context switch each: the kernel's share), "
    "then fewer commits (new leads' keys written in the ledger's own transaction; today "
    "the keys database commits first) and multi-row inserts",
    "translate": "translate payloads with msgspec structs instead of pydantic on the hot "
    "path; cache what is pure (phone, lead id)",
    "HTTP": "less framework work per request (middleware, response models); the plain "
    "table pays the same uvicorn share",
    "verify": "one HMAC per delivery, as the plain table does",
    "other": "the domain and group-commit code (see the section's hottest frames)",
}


def _aim(aim: str, target: str, measured: str, met: bool | None, why: str = "") -> dict[str, Any]:
    return {"aim": aim, "target": target, "measured": measured, "met": met, "why": why}


def _missing(aim: str, target: str, section: str) -> dict[str, Any]:
    return _aim(aim, target, f"not measured: `python -m bench.run --only {section}`", None)


def _group(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    ingest = results.get("ingest")
    if not ingest or "error" in ingest:
        return None
    group: dict[str, Any] | None = ingest.get("figures", {}).get(key)
    return group


def excess(budgets: dict[str, Any]) -> list[tuple[str, float]]:
    """Stages where leadledger spends more than the plain table, largest first (µs)."""
    ledger = budgets.get("leadledger", {}).get("us") or {}
    plain = budgets.get("plain", {}).get("us") or {}
    gaps = [(stage, us - plain.get(stage, 0.0)) for stage, us in ledger.items()]
    return sorted([g for g in gaps if g[1] > 0], key=lambda g: -g[1])


def explain(budgets: dict[str, Any], gap: str, group: dict[str, Any] | None = None) -> str:
    """By how much, what the profile shows, what would close it: from the CPU budget and,
    when measured, perf's split by binary (bench/native.py)."""
    over = excess(budgets)
    if not over:
        return f"{gap}. No CPU budget was measured (py-spy missing?): see the ingest section."
    shows = ", ".join(f"{stage} +{us:.0f} µs" for stage, us in over[:3])
    fixes = "; ".join(REMEDY[stage] for stage, _ in over[:2])
    split = native_evidence(group or {})
    return (
        f"{gap}. Profile: per delivery leadledger spends more than the plain table on "
        f"{shows}.{split} Would close it: {fixes}."
    )


def native_evidence(group: dict[str, Any]) -> str:
    """' perf: ...' - the kernel's, SQLite's and Python's shares of leadledger's CPU and
    the context switches a delivery (plain table's beside), or '' when not measured."""
    if "leadledger" not in group or "plain" not in group:
        return ""
    ledger, plain = at_aim(group["leadledger"]), at_aim(group["plain"])
    shares = ledger.get("perf")
    if not isinstance(shares, dict):
        return ""
    parts = [
        f"{kind} {shares.get(kind, 0.0):.0f} %"
        for kind in ("kernel", "SQLite", "Python interpreter")
    ]
    switches = ledger.get("context_switches_per_request")
    plain_switches = plain.get("context_switches_per_request")
    said = ""
    if switches is not None and plain_switches is not None:
        said = (
            f"; {switches:.1f} context switches a delivery against {plain_switches:.1f} for "
            "the plain table"
        )
    return f" perf, by binary, of leadledger's CPU: {', '.join(parts)}{said}."


def ingest_aims(results: dict[str, Any]) -> list[dict[str, Any]]:
    aim = (
        "HTTP ingest vs the plain-table baseline, 32 connections, SQLite, one server "
        "process, views current, every fact kept exactly once"
    )
    target = f"≥ {AIM_PLAIN:.1f}x, lag p99 < {LAG_MS:g} ms, 0 lost, 0 duplicated"
    cpu_aim = "Server CPU per delivery vs the plain table's, all leadledger processes counted"
    cpu_target = f"≤ {AIM_CPU:.1f}x"
    group = _group(results, "sqlite_x1")
    if group is None or "levels" not in group.get("plain", {}):
        return [_missing(aim, target, "ingest"), _missing(cpu_aim, cpu_target, "ingest")]
    ledger, plain = at_aim(group["leadledger"]), at_aim(group["plain"])
    budgets = {
        app: group[app]["budget"] for app in ("leadledger", "plain") if "budget" in group[app]
    }
    ratio = ledger["req_per_s"] / plain["req_per_s"] if plain["req_per_s"] else 0.0
    check = group["leadledger"].get("check", {})
    lag = lag_at(results, "sustained80")
    lag_text = "lag at 80 % not measured" if lag is None else f"lag {lag['measured']}"
    met = ratio >= AIM_PLAIN and bool(check.get("ok")) and lag is not None and lag["met"]
    measured = (
        f"{ratio:.2f}x ({ledger['req_per_s']:.0f} vs {plain['req_per_s']:.0f} req/s at "
        f"{ledger['concurrency']} connections); {lag_text}; {check.get('lost', '?')} lost, "
        f"{check.get('duplicated', '?')} duplicated of {check.get('acknowledged_unique', '?')}"
    )
    need = plain["req_per_s"] * AIM_PLAIN - ledger["req_per_s"]
    short = f"{100 * (1 - ratio):.0f} % short (+{need:.0f} req/s)"
    why = "" if met else explain(budgets, short, group)
    rows = [_aim(aim, target, measured, met, why)]
    cpu = {a: 1000 * lv["server_cpu_ms_per_request"] for a, lv in (("l", ledger), ("p", plain))}
    cpu_ratio = cpu["l"] / cpu["p"] if cpu["p"] else float("inf")
    cut = cpu["l"] - AIM_CPU * cpu["p"]
    cpu_met = cpu_ratio <= AIM_CPU
    cpu_why = "" if cpu_met else explain(budgets, f"{cut:.0f} µs per delivery too many", group)
    cpu_measured = f"{cpu_ratio:.2f}x ({cpu['l']:.0f} vs {cpu['p']:.0f} µs per delivery)"
    rows.append(_aim(cpu_aim, cpu_target, cpu_measured, cpu_met, cpu_why))
    return rows


def lag_at(results: dict[str, Any], level: str) -> dict[str, Any] | None:
    lag = results.get("lag")
    if not lag or "error" in lag:
        return None
    # Results from before the 80 % level was measured carry one aim, at the fixed rate.
    found = [a for a in lag.get("aims", []) if a.get("level", "fixed") == level]
    return found[0] if found else None


def lag_aims(results: dict[str, Any]) -> list[dict[str, Any]]:
    group = _group(results, "sqlite_x1") or {}
    views = group.get("leadledger", {}).get("budget", {}).get("us", {}).get("views")
    rows = []
    for level, what in (
        ("sustained80", "80 % of leadledger's own sustained throughput"),
        ("fixed", "500 deliveries/s"),
    ):
        aim = f"Read-your-writes lag p99 at {what} (SQLite)"
        target = f"< {LAG_MS:g} ms, rate sustained"
        found = lag_at(results, level)
        if found is None:
            rows.append(_missing(aim, target, "ingest lag" if level != "fixed" else "lag"))
            continue
        why = ""
        if not found["met"]:
            p99 = found.get("p99_ms", float("nan"))
            kept_up = found.get("achieved_per_s", 0.0) >= 0.95 * found.get("offered_per_s", 1.0)
            over = f"{p99 - LAG_MS:.0f} ms over" if p99 == p99 else found["measured"]
            polls = found.get("polls_per_message")
            first_read = (
                f"the first read after each 200 showed the message ({polls:.1f} polls per "
                "message): the views are current when the 200 is answered "
                "(projections/inline.py), so the lag is that read's wait in a busy server"
                if polls is not None and polls <= 1.05
                else "the views are applied in the same pass as the append, before each "
                "answer (projections/inline.py), so a slower pass is a slower answer"
            )
            why = (
                over
                + ("" if kept_up else f"; the server did not keep up ({found['measured']})")
                + (f". {found['cpu_shares'].rstrip('.')}" if found.get("cpu_shares") else "")
                + f". Profile: {first_read}; the views cost "
                + ("?" if views is None else f"{views:.0f}")
                + " µs of server CPU per delivery. Would close it: headroom, i.e. a cheaper "
                "delivery ("
                + REMEDY["views"]
                + "), or reads served apart from ingest (another server process: "
                "PostgreSQL with --workers)."
            )
        rows.append(_aim(aim, target, found["measured"], found["met"], why))
    return rows


def rebuild_aim(results: dict[str, Any], section: str, events: str) -> dict[str, Any]:
    backend = "PostgreSQL" if section.endswith("pg") else "SQLite"
    aim = f"Rebuild {events} events on {backend}: rate, peak memory, verify"
    target = f"≥ {REBUILD_PER_S:,.0f} events/s, < {REBUILD_MB:g} MB, verify OK"
    result = results.get(section)
    if not result or "error" in result:
        return _missing(aim, target, section)
    figures = result["figures"]
    rate = figures["rebuild"]["events_per_s"]
    # Every process of a parallel rebuild together (older results: the one process).
    memory = figures["rebuild"].get("tree_peak_rss_mb") or figures["rebuild"]["peak_rss_mb"]
    ok = bool(figures["verify"]["ok"])
    met = rate >= REBUILD_PER_S and memory < REBUILD_MB and ok
    measured = (
        f"{rate:,.0f} events/s over {figures['events']:,}; {memory:.0f} MB; verify "
        f"{'OK' if ok else 'FAILED'}"
    )
    why = ""
    if not met:
        shares = figures.get("profile_stages", {}).items()
        stages = sorted((s for s in shares if s[0] != "other"), key=lambda s: -s[1])[:3]
        shows = ", ".join(f"{name} {100 * share:.0f} %" for name, share in stages)
        why = (
            f"{max(0.0, 100 * (1 - rate / REBUILD_PER_S)):.0f} % short of the rate"
            + (f", {memory - REBUILD_MB:.0f} MB over" if memory >= REBUILD_MB else "")
            + (f". Profile (share of samples): {shows}" if shows else ". No profile was taken")
            + _cpu_per_event(figures)
            + ". Folds already run on every core (lead-id hash partitions); would close "
            "it: a per-event path several times cheaper than Python's fold, feed items and "
            "row encoding (a compiled reducer and encoder), or the feed's items derived on "
            "read instead of stored, or more cores."
        )
    return _aim(aim, target, measured, met, why)


def _cpu_per_event(figures: dict[str, Any]) -> str:
    """The CPU one event may cost at the aim's rate on this machine's cores, against what
    it cost: the size of the gap in the unit the code is changed in."""
    per_cpu_s = figures["rebuild"].get("events_per_cpu_s")
    cores = (figures.get("machine") or {}).get("nproc")
    if not per_cpu_s or not cores:
        return ""
    allowed = 1e6 * cores / REBUILD_PER_S
    return (
        f". CPU per event: {1e6 / per_cpu_s:.0f} µs, all processes counted; the rate asks "
        f"≤ {allowed:.0f} µs on {cores} cores"
    )


def pg_processes_aim(results: dict[str, Any]) -> dict[str, Any]:
    aim = (
        "PostgreSQL, 1, 2 and 4 server processes: throughput and CPU per delivery; "
        "no process idles on a lock another holds"
    )
    target = "all reported, each stored once; 2 and 4 processes ≥ 0.9x the rate of 1"
    groups = {n: _group(results, f"postgres_x{n}") for n in (1, 2, 4)}
    if any(g is None for g in groups.values()):
        return _missing(aim, target, "ingest")
    levels = {n: at_aim(g["leadledger"]) for n, g in groups.items() if g}
    checks = all(g["leadledger"].get("check", {}).get("ok") for g in groups.values() if g)
    base = levels[1]["req_per_s"]
    scales = all(levels[n]["req_per_s"] >= 0.9 * base for n in (2, 4))
    plain = {n: at_aim(g["plain"]) for n, g in groups.items() if g}
    measured = "; ".join(
        f"x{n}: {lv['req_per_s']:.0f} req/s, {1000 * lv['server_cpu_ms_per_request']:.0f} µs "
        f"per delivery (plain table {plain[n]['req_per_s']:.0f} req/s, "
        f"{1000 * plain[n]['server_cpu_ms_per_request']:.0f} µs)"
        for n, lv in levels.items()
    )
    why = ""
    if not scales:
        why = (
            "More processes answered fewer deliveries than one: they wait on each other "
            "(the projection's row lock, the group commit). Would close it: partitioned "
            "projections (by lead-id hash, each with its own tracking)."
        )
    if not checks:
        why = "A run lost or duplicated a fact, or a request failed: see the ingest section. " + why
    return _aim(aim, target, measured, checks and scales, why)


def projections_aim(results: dict[str, Any]) -> dict[str, Any]:
    aim = "1 vs 2 projection processes: views keep up when one process cannot"
    target = "2 processes keep the views current where 1 does not"
    result = results.get(PROJECTIONS)
    if not result or "error" in result or not result.get("aims"):
        return _missing(aim, target, PROJECTIONS)
    aims = result["aims"]
    measured = "; ".join(str(a["measured"]) for a in aims)
    met = all(a["met"] for a in aims)
    return _aim(aim, target, measured, met, "" if met else "See its section.")


def fairness_aim(results: dict[str, Any]) -> dict[str, Any]:
    aim = "Fairness: batching never lets one large delivery delay others beyond its bound"
    result = results.get("fairness")
    if not result or "error" in result or not result.get("aims"):
        return _missing(aim, "the reliability issue's bound", "fairness")
    first = result["aims"][0]
    why = "" if first["met"] else "See the fairness section."
    return _aim(aim, first["target"], first["measured"], first["met"], why)


def _guarded(
    build: Callable[[], list[dict[str, Any]]], aim: str, section: str
) -> list[dict[str, Any]]:
    """A result without the figures an aim reads (another format, an older run) shows as
    such, with the command that measures it again."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
        why = f"its result lacks {exc!r}: `python -m bench.run --only {section}`"
        return [_aim(aim, "", f"not readable ({why})", None)]


def issue_aims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's aims in its order, from whatever results there are."""
    return [
        *_guarded(lambda: ingest_aims(results), "HTTP ingest and CPU per delivery", "ingest"),
        *_guarded(lambda: lag_aims(results), "Read-your-writes lag", "lag"),
        *_guarded(lambda: [rebuild_aim(results, "rebuild", "1,000,000")], "Rebuild", "rebuild"),
        *_guarded(
            lambda: [rebuild_aim(results, "rebuild-pg", "200,000")], "Rebuild PG", "rebuild-pg"
        ),
        *_guarded(lambda: [pg_processes_aim(results)], "PostgreSQL processes", "ingest"),
        *_guarded(lambda: [projections_aim(results)], "Projection processes", PROJECTIONS),
        *_guarded(lambda: [fairness_aim(results)], "Fairness", "fairness"),
        _aim(
            "Nothing regresses: crash, outage and dedup tests green, docs/reliability.md's "
            "guarantees unchanged",
            "all green",
            "checked by the test suite (CI), not by the bench",
            None,
        ),
    ]


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| aim | target | measured | met? | if missed: by how much, what the profile shows, "
        "what would close it |",
        "|---|---|---|:---:|---|",
    ]
    for a in issue_aims(results):
        mark = "n/a" if a["met"] is None else ("yes" if a["met"] else "**no**")
        lines.append(f"| {a['aim']} | {a['target']} | {a['measured']} | {mark} | {a['why']} |")
    return lines
