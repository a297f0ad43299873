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


def contract(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The section of docs/performance.md: aim, figures and a short table."""
    lag, lat = result["lag_ms"], result["webhook_latency_ms"]
    steady = result["throughput_per_s"] >= 0.95 * args.rate and not result["not_sent_deadline"]
    met = steady and not result["errors"] and lag["p99"] < AIM_P99_MS
    command = f"python -m bench.lag{' --quick' if args.quick else ''}" + (
        " --pg" if args.pg else ""
    )
    probe = "GET /leads/{id}" if args.probe == "lead" else "GET /leads?q=<phone>"
    md = [
        "## Read-your-writes lag",
        "",
        f"{result['backend']}, {args.workers} server worker: a steady {args.rate:g} signed "
        f"deliveries/s for {args.seconds:g} s, of which {args.probe_rate:g}/s are probed (the "
        "first message of a new lead, from a thread pool) and the rest come from the ingest "
        f"load generator. After each probed 200 the client polls {probe} every "
        f"{args.poll_ms:g} ms until it shows the message; the lag is the first showing "
        "answer's arrival minus the 200's, an upper bound by up to one poll.",
        "",
        "| offered /s | achieved /s | lag p50 | lag p90 | lag p99 | lag max "
        "| webhook p50 / p99 | polls per message | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {args.rate:g} | {result['throughput_per_s']:.0f} | {lag['p50']:.1f} ms "
        f"| {lag['p90']:.1f} ms | {lag['p99']:.1f} ms | {lag['max']:.1f} ms "
        f"| {lat['p50']:.1f} / {lat['p99']:.1f} ms | {result['polls_per_message']:.1f} "
        f"| {result['errors'] or 'none'} |",
    ]
    if not steady:
        md += [
            "",
            f"The server did not keep up with the offered rate: {result['throughput_per_s']:.0f}"
            f"/s achieved of {args.rate:g}/s ({result['not_sent_deadline']} not sent by the "
            "run deadline); the lag figures hold at that lower rate.",
        ]
    if lag["p99"] >= AIM_P99_MS:
        md += ["", f"p99 lag misses the aim by {lag['p99'] - AIM_P99_MS:.1f} ms."]
    return {
        "section": "Read-your-writes lag",
        "command": command,
        "markdown": "\n".join(md) + "\n",
        "aims": [
            {
                "aim": f"Read-your-writes lag p99 at a steady {args.rate:g} deliveries/s "
                f"({result['backend']})",
                "target": f"< {AIM_P99_MS:g} ms, rate sustained",
                "measured": f"p99 {lag['p99']:.1f} ms at {result['throughput_per_s']:.0f}/s",
                "met": met,
            }
        ],
        "figures": {k: result[k] for k in ("lag_ms", "webhook_latency_ms", "throughput_per_s")},
    }
