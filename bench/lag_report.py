"""bench/lag.py's figures: printed, and the section of docs/performance.md."""

from __future__ import annotations

import argparse
from typing import Any


def report(result: dict[str, Any]) -> None:
    m, lag, lat = result["machine"], result["lag_ms"], result["webhook_latency_ms"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, {m['platform']}")
    print(
        f"{result['backend']}: {result['answered_200']}/{result['messages']} answered 200 "
        f"({result['not_sent_deadline']} not sent by the run deadline), "
        f"{result['visible']} visible ({result['probe_cut_deadline']} probes cut by it), "
        f"errors {result['errors'] or 'none'}, "
        f"{result['retries']} transient retries"
    )
    print(
        f"throughput {result['throughput_per_s']:.1f} msg/s (offered "
        f"{result['offered_rate_per_s']:g}/s); webhook latency p50 {lat['p50']:.1f} ms, "
        f"p99 {lat['p99']:.1f} ms; schedule slip max {result['schedule_slip_ms']['max']:.1f} ms"
    )
    print(
        f"read-your-writes lag ({result['probe']} probe): p50 {lag['p50']:.1f} ms, "
        f"p90 {lag['p90']:.1f} ms, p99 {lag['p99']:.1f} ms, max {lag['max']:.1f} ms "
        f"({result['polls_per_message']:.1f} polls/message)"
    )


AIM_P99_MS = 50.0


def _sustained(result: dict[str, Any]) -> bool:
    """The server kept up with the offered rate (within 5 %), everything sent in time."""
    return (
        result["throughput_per_s"] >= 0.95 * result["offered_rate_per_s"]
        and not result["not_sent_deadline"]
    )


def _row(result: dict[str, Any]) -> str:
    lag, lat = result["lag_ms"], result["webhook_latency_ms"]
    return (
        f"| {result['level']} | {result['offered_rate_per_s']:.0f} "
        f"| {result['throughput_per_s']:.0f} | {lag['p50']:.1f} ms "
        f"| {lag['p90']:.1f} ms | {lag['p99']:.1f} ms | {lag['max']:.1f} ms "
        f"| {lat['p50']:.1f} / {lat['p99']:.1f} ms | {result['polls_per_message']:.1f} "
        f"| {result['errors'] or 'none'} |"
    )


def cpu_shares(result: dict[str, Any]) -> str:
    """Who used the CPUs over the level: the server, and the Python clients that share the
    machine with it (results from before this was measured: nothing)."""
    seconds = result.get("total_seconds") or 0.0
    if "server_cpu_s" not in result or seconds <= 0:
        return ""
    cpus = (result.get("machine") or {}).get("nproc") or 0
    server, clients = result["server_cpu_s"] / seconds, result["client_cpu_s"] / seconds
    if cpus and server + clients >= 0.9 * cpus:
        bound = "the CPUs were full: part of what the server did not get went to the clients"
    else:
        bound = (
            "CPUs were left over: the server's one process is bound by its Python work, "
            "which runs one thread at a time (the GIL), not by the machine"
        )
    return (
        f" Over the level the server used {server:.2f} CPUs and the clients beside it (the "
        f"Python load generator and the probe threads) {clients:.2f}, of the machine's "
        f"{cpus or '?'}: {bound}."
    )


def _aim(result: dict[str, Any]) -> dict[str, Any]:
    lag = result["lag_ms"]
    rate = result["offered_rate_per_s"]
    at = f"{rate:.0f} deliveries/s" + (
        " (80 % of leadledger's sustained throughput)" if result["level"] != "fixed" else ""
    )
    return {
        "aim": f"Read-your-writes lag p99 at a steady {at} ({result['backend']})",
        "target": f"< {AIM_P99_MS:g} ms, rate sustained",
        "measured": f"p99 {lag['p99']:.1f} ms at {result['throughput_per_s']:.0f}/s",
        "met": _sustained(result) and not result["errors"] and lag["p99"] < AIM_P99_MS,
        "level": "sustained80" if result["level"] != "fixed" else "fixed",
        "p99_ms": lag["p99"],
        "offered_per_s": rate,
        "achieved_per_s": result["throughput_per_s"],
        "polls_per_message": result["polls_per_message"],
        "cpu_shares": cpu_shares(result).strip(),
    }


def contract(
    results: list[dict[str, Any]], args: argparse.Namespace, sustained_known: bool
) -> dict[str, Any]:
    """The section of docs/performance.md: one row and one aim per level."""
    first = results[0]
    command = f"python -m bench.lag{' --quick' if args.quick else ''}" + (
        " --pg" if args.pg else ""
    )
    probe = "GET /leads/{id}" if args.probe == "lead" else "GET /leads?q=<phone>"
    md = [
        "## Read-your-writes lag",
        "",
        f"{first['backend']}, {args.workers} server process, a fresh server and ledger per "
        f"level: a steady rate of signed deliveries for {args.seconds:g} s, of which "
        f"{args.probe_rate:g}/s are probed (the first message of a new lead, from a thread "
        "pool) and the rest come from the Python load generator (bench.loadgen, which "
        f"paces). After each probed 200 the client polls {probe} every {args.poll_ms:g} ms "
        "until it shows the message; the lag is the first showing answer's arrival minus "
        "the 200's, an upper bound by up to one poll. The first level is 80 % of "
        "leadledger's own sustained throughput, measured by the ingest section earlier in "
        "the same run.",
        "",
        "| level | offered /s | achieved /s | lag p50 | lag p90 | lag p99 | lag max "
        "| webhook p50 / p99 | polls per message | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *[_row(r) for r in results],
    ]
    if not sustained_known:
        md += [
            "",
            "No ingest measurement of leadledger's throughput was found for this run: the "
            "80 % level was not measured (`python -m bench.run --only ingest lag`).",
        ]
    for result in results:
        if not _sustained(result):
            md += [
                "",
                f"At {result['offered_rate_per_s']:.0f}/s offered the server did not keep up: "
                f"{result['throughput_per_s']:.0f}/s achieved ({result['not_sent_deadline']} "
                "not sent by the run deadline); the lag figures hold at that lower rate."
                + cpu_shares(result),
            ]
        if result["lag_ms"]["p99"] >= AIM_P99_MS:
            md += [
                "",
                f"At {result['offered_rate_per_s']:.0f}/s the p99 lag misses the aim by "
                f"{result['lag_ms']['p99'] - AIM_P99_MS:.1f} ms.",
            ]
    keys = ("level", "offered_rate_per_s", "lag_ms", "webhook_latency_ms", "throughput_per_s")
    return {
        "section": "Read-your-writes lag",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": [_aim(r) for r in results],
        "figures": {"levels": [{k: r[k] for k in keys} for r in results]},
    }
