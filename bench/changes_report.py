"""bench/changes.py's figures as the `changes` section of docs/performance.md, with its aims."""

from __future__ import annotations

from typing import Any

CHANGES_TITLE = "Change stream: SSE clients while ingest runs (sqlite)"
AIM_LAG_P99_MS = 100.0  # issue 15: "within 100 ms p99 of the command's answer"
# Issue 15 says "without slowing ingest"; read as a ratio: its own tolerance for a dead
# webhook receiver (within 5 % of none) is the nearest figure it gives.
AIM_INGEST_RATIO = 0.95


def ingest_ratio(figures: dict[str, Any]) -> float:
    """With the streams over the mean of the two runs without (before and after)."""
    rates = figures["ingest_per_s"]
    without = (rates["without"] + rates["without_again"]) / 2
    return rates["with"] / without if without > 0 else 0.0


def _lag(lag: dict[str, float]) -> str:
    return f"{lag['p50']} / {lag['p90']} / {lag['p99']} / {lag['max']} ms"


def _exact(part: dict[str, Any]) -> tuple[int, int]:
    clients = part.get("clients", 1)
    return part.get("exact_raw", 0) + part["exact_real"], clients


def section(figures: dict[str, Any], command: str) -> dict[str, Any]:
    light, fan, rates = figures["light"], figures["fanout"], figures["ingest_per_s"]
    cpu, steady = figures["server_cpu_s"], figures["fanout"]["steady"]
    steady_cpu = steady["server_cpu_s"]
    cpu_ratio = steady_cpu["with"] / steady_cpu["without"] if steady_cpu["without"] else 0.0
    ratio = ingest_ratio(figures)
    light_exact, fan_exact = _exact(light), _exact(fan)
    every = light_exact[0] == light_exact[1] and fan_exact[0] == fan_exact[1]
    every = every and not (light["missing"] or fan["missing"] or steady["missing"])
    md = [
        "## " + CHANGES_TITLE.replace("sqlite", figures["backend"]),
        "",
        "One server process. A *probe* is a signed Kapso delivery or a note command "
        "(alternately) carrying a marker; its lag is a client's first sight of the marker in "
        "`GET /changes/stream` minus the arrival of the probe's HTTP 200, on one monotonic "
        "clock. Light load: one httpx-sse client, probes at "
        f"{light['rate_per_s']:g}/s, nothing else. Fan-out: {fan['clients']} clients "
        f"({fan['real_clients']} httpx-sse; the others raw sockets that keep only the `id:` "
        "lines and the probes' markers: 200 full Python parsers on the same CPUs would "
        "measure the clients) while bench/loadgen sends "
        f"{figures['deliveries_per_run']:,} deliveries as fast as they are answered (the "
        "CPUs saturated: a probe's lag there includes the "
        "views' catch-up queueing behind ingest), then at a steady modest rate; the same "
        "deliveries run before and after with no stream open. Probes run in all parts. Each "
        "client's ids are compared with `GET /changes` afterwards.",
        "",
        "| part | changes per client | every change once, in order | lag p50 / p90 / p99 / max "
        "| lag samples (missing) |",
        "|---|---:|---|---|---|",
        f"| light: 1 client, {light['probes']} probes | {light['changes']:,} | "
        f"{light_exact[0]} of {light_exact[1]} | {_lag(light['lag_ms'])} | "
        f"{light['lag_ms']['count']} ({light['missing']}) |",
        f"| fan-out: {fan['clients']} clients, {fan['probes']} probes during ingest as fast "
        f"as answered | {fan['changes']:,} | {fan_exact[0]} of {fan_exact[1]} | "
        f"{_lag(fan['lag_ms'])} | {fan['lag_ms']['count']} ({fan['missing']}) |",
        f"| … of which the {fan['real_clients']} httpx-sse clients | | "
        f"{fan['exact_real']} of {fan['real_clients']} | {_lag(fan['real_lag_ms'])} | "
        f"{fan['real_lag_ms']['count']} |",
        f"| the same clients, {steady['probes']} probes during a steady "
        f"{steady['rate_per_s']}/s ingest | (same) | (same) | {_lag(steady['lag_ms'])} | "
        f"{steady['lag_ms']['count']} ({steady['missing']}) |",
        f"| … of which the {fan['real_clients']} httpx-sse clients | | | "
        f"{_lag(steady['real_lag_ms'])} | {steady['real_lag_ms']['count']} |",
        "",
        "| ingest | without streams | with the streams | without, again | with / mean without |",
        "|---|---:|---:|---:|---:|",
        f"| deliveries/s | {rates['without']} | {rates['with']} | "
        f"{rates['without_again']} | {ratio:.2f}x |",
        f"| server CPU s while sending | {cpu['without']} | {cpu['with']} | "
        f"{cpu['without_again']} | |",
        f"| server CPU s, {steady['deliveries']:,} deliveries at a steady "
        f"{steady['rate_per_s']}/s | {steady_cpu['without']} | {steady_cpu['with']} | | "
        f"{cpu_ratio:.2f}x |",
        "",
        f"The clients' process used {fan['clients_cpu_s']} CPU s in all (same machine). "
        "As fast as answered, the run with streams competes for the CPUs with the clients "
        "(and anything else on the machine); at a steady rate the server does the same work "
        "in both runs, so its CPU seconds show what the streams themselves cost it.",
    ]
    errors = sorted(set(light["errors"]) | set(fan["errors"]))
    failures = light["probe_failures"] + fan["probe_failures"] + steady["probe_failures"]
    if errors or failures:
        md += ["", f"Client errors: {errors or 'none'}; probe failures: {failures or 'none'}."]
    aims = [
        {
            "aim": f"Ingest with {fan['clients']} SSE clients vs without (same run, "
            f"{figures['backend']})",
            "target": f"“without slowing ingest” (issue 15); read as ≥ {AIM_INGEST_RATIO}x "
            "(the issue's 5 % tolerance for a dead webhook receiver)",
            "measured": f"{ratio:.2f}x ({rates['with']}/s with; {rates['without']} and "
            f"{rates['without_again']}/s without); server CPU for a steady "
            f"{steady['rate_per_s']}/s: {cpu_ratio:.2f}x",
            "met": ratio >= AIM_INGEST_RATIO,
        },
        {
            "aim": "Command answer → SSE client receipt p99, light load (1 client)",
            "target": f"< {AIM_LAG_P99_MS:g} ms",
            "measured": f"p99 {light['lag_ms']['p99']} ms (p50 {light['lag_ms']['p50']})",
            "met": light["lag_ms"]["p99"] < AIM_LAG_P99_MS and not light["missing"],
        },
        {
            "aim": f"Command answer → SSE client receipt p99, {fan['clients']} clients, "
            f"steady {steady['rate_per_s']}/s ingest",
            "target": f"< {AIM_LAG_P99_MS:g} ms",
            "measured": f"p99 {steady['lag_ms']['p99']} ms (p50 {steady['lag_ms']['p50']})",
            "met": steady["lag_ms"]["p99"] < AIM_LAG_P99_MS and not steady["missing"],
        },
        {
            "aim": f"Command answer → SSE client receipt p99, {fan['clients']} clients, "
            "ingest as fast as answered (CPUs saturated)",
            "target": f"< {AIM_LAG_P99_MS:g} ms",
            "measured": f"p99 {fan['lag_ms']['p99']} ms (p50 {fan['lag_ms']['p50']})",
            "met": fan["lag_ms"]["p99"] < AIM_LAG_P99_MS and not fan["missing"],
        },
        {
            "aim": "Every SSE client got every change once, in order",
            "target": "all clients",
            "measured": f"{light_exact[0]} of {light_exact[1]} (light), {fan_exact[0]} of "
            f"{fan_exact[1]} (fan-out)",
            "met": every,
        },
    ]
    return {
        "section": "changes",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": aims,
        "figures": figures,
    }
