"""The ingest section of docs/performance.md: tables, ratios, aims, the profile."""

from __future__ import annotations

import textwrap
from typing import Any

from bench import budget, native, profiling

AIM_PLAIN = 1.0
AIM_BARE = 0.4
AIM_CPU = 1.5  # leadledger's server CPU per delivery at most 1.5x the plain table's
AIM_CONNECTIONS = 32


def _by(results: list[dict[str, Any]], workers: int) -> dict[str, dict[str, Any]]:
    return {r["app"]: r for r in results if r["workers"] == workers}


def _best(result: dict[str, Any]) -> dict[str, Any]:
    return max(result["levels"], key=lambda lv: lv["req_per_s"])


def at_aim(result: dict[str, Any]) -> dict[str, Any]:
    """The level at the aims' 32 connections (else the nearest one run)."""
    return min(result["levels"], key=lambda lv: abs(lv["concurrency"] - AIM_CONNECTIONS))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _lat(level: dict[str, Any]) -> str:
    lat = level["latency_ms"]
    return f"{lat['p50']:.1f} / {lat['p99']:.1f}"


def _rate(level: dict[str, Any]) -> str:
    # * : the level used up its pre-built deliveries early; the rate is over its own time.
    return f"{level['req_per_s']:.0f}{'*' if level.get('exhausted') else ''}"


def _cpu(level: dict[str, Any]) -> str:
    # Server CPU time per answered request, all its processes: what one request costs.
    value = level.get("server_cpu_ms_per_request")
    return "?" if value is None else f"{value:.2f}"


def table(group: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| concurrency | bare req/s | plain req/s | leadledger req/s | leadledger msg/s "
        "| ledger/plain | ledger/bare | bare p50/p99 ms | plain p50/p99 ms "
        "| ledger p50/p99 ms | bare CPU ms/req | plain CPU ms/req | ledger CPU ms/req |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, ledger in enumerate(group["leadledger"]["levels"]):
        bare, plain = group["bare"]["levels"][i], group["plain"]["levels"][i]
        lines.append(
            f"| {ledger['concurrency']} | {_rate(bare)} | {_rate(plain)} "
            f"| {_rate(ledger)} | {ledger['msg_per_s']:.0f} "
            f"| {_ratio(ledger['req_per_s'], plain['req_per_s']):.2f}x "
            f"| {_ratio(ledger['req_per_s'], bare['req_per_s']):.2f}x "
            f"| {_lat(bare)} | {_lat(plain)} | {_lat(ledger)} "
            f"| {_cpu(bare)} | {_cpu(plain)} | {_cpu(ledger)} |"
        )
    best = {app: _best(r) for app, r in group.items()}
    lines.append(
        f"| **best** | {best['bare']['req_per_s']:.0f} (c={best['bare']['concurrency']}) "
        f"| {best['plain']['req_per_s']:.0f} (c={best['plain']['concurrency']}) "
        f"| {best['leadledger']['req_per_s']:.0f} (c={best['leadledger']['concurrency']}) "
        f"| {best['leadledger']['msg_per_s']:.0f} "
        f"| **{_ratio(best['leadledger']['req_per_s'], best['plain']['req_per_s']):.2f}x** "
        f"| **{_ratio(best['leadledger']['req_per_s'], best['bare']['req_per_s']):.2f}x** "
        "| | | | | | |"
    )
    return lines


def bound(group: dict[str, dict[str, Any]], workers: int, cores: int) -> str:
    """What limits leadledger at its best level: CPU per request, and whether it is busy."""
    best = {app: _best(r) for app, r in group.items()}
    ledger = best["leadledger"]
    cost = {
        app: level.get("server_cpu_ms_per_request", float("nan")) for app, level in best.items()
    }
    busy = ledger.get("server_cpu_pct", float("nan"))
    text = (
        f"What bounds it: at its best level leadledger's server spent {cost['leadledger']:.2f} ms "
        f"of CPU per request (plain table {cost['plain']:.2f} ms, bare {cost['bare']:.2f} ms), "
        f"{cost['leadledger'] / cost['plain']:.1f}x the plain table's, and was busy "
        f"{busy:.0f} % of one core ({workers} worker{'s' if workers > 1 else ''}). "
    )
    if busy >= 85 * min(workers, cores):
        return text + "It is CPU-bound: more throughput needs less Python work per request."
    return text + (
        "It is not CPU-bound (unless other work on the machine starves it: see the load "
        "average above): requests wait (on the database's commits or a lock) more than they "
        "compute; the profile below shows where."
    )


def aims_of(backend: str, workers: int, group: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    level = {app: at_aim(r) for app, r in group.items()}
    where = (
        f"{backend}, {workers} server process{'es' if workers > 1 else ''}, "
        f"{level['leadledger']['concurrency']} connections"
    )
    aims = []
    for rival, target in (("plain", AIM_PLAIN), ("bare", AIM_BARE)):
        ledger, other = level["leadledger"]["req_per_s"], level[rival]["req_per_s"]
        ratio = _ratio(ledger, other)
        name = "plain-table baseline" if rival == "plain" else "bare ceiling"
        aims.append(
            {
                "aim": f"Ingest throughput vs the {name} ({where})",
                "target": f"≥ {target:.1f}x",
                "measured": f"{ratio:.2f}x ({ledger:.0f} vs {other:.0f} req/s)",
                "met": ratio >= target,
                "shortfall_pct": max(0.0, 100 * (1 - ratio / target)),
            }
        )
    cpu = {app: lv["server_cpu_ms_per_request"] for app, lv in level.items()}
    cpu_ratio = _ratio(cpu["leadledger"], cpu["plain"])
    aims.append(
        {
            "aim": f"Server CPU per delivery vs the plain table's ({where}, all processes)",
            "target": f"≤ {AIM_CPU:.1f}x",
            "measured": f"{cpu_ratio:.2f}x ({1000 * cpu['leadledger']:.0f} vs "
            f"{1000 * cpu['plain']:.0f} µs)",
            "met": cpu_ratio <= AIM_CPU,
        }
    )
    check = group["leadledger"].get("check", {})
    aims.append(
        {
            "aim": f"Every delivery answered 200, every acknowledged message stored once "
            f"({backend}, x{workers})",
            "target": "0 failed, 0 lost, 0 duplicated",
            "measured": f"{check.get('failed_requests', '?')} failed, {check.get('lost', '?')} "
            f"lost, {check.get('duplicated', '?')} duplicated of "
            f"{check.get('acknowledged_unique', '?')}",
            "met": bool(check.get("ok")),
        }
    )
    return aims


def budget_rules() -> list[str]:
    """How the CPU budget table gives each profile sample to a stage (bench/budget.py)."""
    doc = budget.__doc__ or ""
    rules = doc.split("The rules, in order (first that holds decides):", 1)[-1]
    return [
        "How the CPU budget's stages are attributed (the rules of bench/budget.py, in order):",
        "",
        *textwrap.dedent(rules.split("\n\nFrames are matched", 1)[0]).strip().splitlines(),
    ]


def native_split(group: dict[str, dict[str, Any]]) -> list[str]:
    """perf's shares by binary at the aims' level, beside the context switches a delivery
    (bench/native.py): what the budget's CPU without the GIL is."""
    apps: tuple[str, ...] = ("leadledger", "plain")
    levels = {app: at_aim(group[app]) for app in apps if app in group}
    shares: dict[str, dict[str, float]] = {
        app: lv["perf"] for app, lv in levels.items() if isinstance(lv.get("perf"), dict)
    }
    why = [f"{app}: {lv['perf']}" for app, lv in levels.items() if isinstance(lv.get("perf"), str)]
    missing = ["", f"No perf split: {'; '.join(why)}."] if why else []
    if not shares:
        return missing
    switches: dict[str, float] = {
        app: lv["context_switches_per_request"]
        for app, lv in levels.items()
        if "context_switches_per_request" in lv
    }
    at = next(iter(levels.values()))["concurrency"]
    return [
        "",
        f"Where the server's CPU went at {at} connections, by binary (bench/native.py: "
        f"perf's samples of every thread at {native.PERF_HZ} Hz, whatever it ran; the "
        "budget above counts all CPU without the GIL as SQL), and the context switches of "
        "all its threads per delivery:",
        "",
        *native.table(shares, switches),
        *missing,
    ]


def section(
    runs: dict[str, list[dict[str, Any]]], command: str, machine: dict[str, Any], seconds: float
) -> dict[str, Any]:
    md = ["## Ingest over HTTP", ""]
    md.append(
        "Signed Kapso deliveries (≈85 % new single inbound messages over 50,000 leads, ≈10 % "
        "exact repeats, ≈5 % batches of 2-5), built and signed before the clock starts, sent "
        "by wrk (a compiled load generator, one connection per wrk thread; bench/wrk_load.py), "
        "against three servers under the same uvicorn settings: the bare ceiling (reads the "
        "body, answers 200), the plain-table baseline (verify signature, parse, upsert a "
        "contact and insert the message with a unique index, one transaction) and "
        "leadledger. Each level runs for a fixed time; throughput counts 200 answers. Ratios "
        "are leadledger's requests/s over the rival's, in this run. CPU ms/req is the "
        "server's CPU time (all its processes) over the level divided by the requests "
        "answered: what one request costs, whatever the concurrency."
    )
    aims: list[dict[str, Any]] = []
    figures: dict[str, Any] = {"seconds": seconds}
    md += ["", *budget_rules()]
    for backend, results in runs.items():
        if backend == "postgres_unreachable":
            md += ["", "PostgreSQL was not reachable: its section was skipped."]
            continue
        for workers in sorted({r["workers"] for r in results}):
            group = _by(results, workers)
            md += ["", f"### {backend}, {workers} server worker{'s' if workers > 1 else ''}", ""]
            md += table(group)
            if any(lv.get("exhausted") for r in group.values() for lv in r["levels"]):
                md += [
                    "",
                    "\\* went through its pre-built deliveries and cycled over them again: "
                    "its later requests repeat earlier ones (retries, for a server that "
                    "stores; the bare one stores nothing, so it is built fewer).",
                ]
            check = group["leadledger"].get("check", {})
            plain_check = group["plain"].get("check", {})
            md += [
                "",
                f"Correctness: {check.get('failed_requests')} requests failed (not 200); "
                f"{check.get('acknowledged_unique')} distinct messages acknowledged (answered "
                f"200), {check.get('sent_unique')} sent (the rest were in flight when wrk "
                f"stopped), {check.get('stored_rows')} stored in the ledger ({check.get('lost')} "
                f"acknowledged but not stored, {check.get('duplicated')} duplicated, "
                f"{check.get('unknown')} never sent); plain table: {plain_check.get('lost')} "
                f"lost, {plain_check.get('duplicated')} duplicated.",
            ]
            budgets = {
                app: group[app]["budget"]
                for app in ("leadledger", "plain")
                if "budget" in group[app]
            }
            if budgets:
                at = next(iter(budgets.values()))["concurrency"]
                md += [
                    "",
                    f"Per-delivery CPU budget at {at} connections: µs of server CPU per "
                    "delivery by stage (bench/budget.py: py-spy's samples of the busy threads, "
                    "given to stages by the rules on this page, scaled to the CPU measured "
                    "per delivery at that level):",
                    "",
                    *budget.table(budgets),
                ]
            md += native_split(group)
            aims += aims_of(backend, workers, group)
            md += ["", bound(group, workers, int(machine.get("nproc", 1)))]
            if "profile" in group["leadledger"]:
                prof = group["leadledger"]["profile"]
                level = group["leadledger"].get("profiled_level", {})
                title = (
                    "py-spy profile (samples of the thread holding the GIL) of the "
                    f"leadledger server at {level.get('concurrency', '?')} connections "
                    f"({level.get('req_per_s', 0):.0f} req/s while sampled)"
                )
                md += ["", profiling.markdown(prof, title)]
            figures[f"{backend}_x{workers}"] = group
    max_client = max(
        (lv["client_cpu_pct"] for rs in runs.values() for r in rs for lv in r["levels"]),
        default=0.0,
    )
    md += [
        "",
        f"wrk used at most {max_client:.0f} % of one core in any level. On a machine with few "
        "cores it shares them with the server, as real load would not; the ratios carry "
        "that equally for all three servers.",
    ]
    missed = [a for a in aims if not a["met"] and "shortfall_pct" in a]
    if missed:
        md += ["", "Missed aims, by how much:", ""]
        md += [f"- {a['aim']}: {a['measured']}, {a['shortfall_pct']:.0f} % short." for a in missed]
    for aim in aims:
        aim.pop("shortfall_pct", None)
    figures["machine"] = machine
    return {
        "section": "Ingest over HTTP",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": aims,
        "figures": figures,
    }
