"""The rebuild benchmark's report: aims, a markdown section, and where the time goes
(py-spy samples of the rebuild's processes, grouped by stage: bench/rebuild_stages.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.rebuild_stages import OTHER, read_profile

RATE_AIM = 100_000
RATIO_AIM = 0.25
RSS_AIM_MB = 300


def report(figures: dict[str, Any], command: str, profile: Path | None) -> dict[str, Any]:
    rebuilt = figures["rebuild"]
    rate, ratio = rebuilt["events_per_s"], figures["cpu_ratio_rebuild_to_read_decode"]
    wall_ratio = figures["ratio_rebuild_to_read_decode"]
    rss = rebuilt.get("tree_peak_rss_mb") or rebuilt["peak_rss_mb"]
    scale = f"{figures['events']:,} events over {figures['leads']:,} leads"
    aims = [
        {
            "aim": f"rebuild {scale} into fresh views ({figures['backend']})",
            "target": f"≥ {RATE_AIM:,} events/s",
            "measured": f"{rate:,.0f} events/s",
            "met": rate >= RATE_AIM,
        },
        {
            "aim": "rebuild rate against reading + decoding every event (same run; events "
            "per CPU-second of each, the rebuild's including its start-up)",
            "target": f"≥ {RATIO_AIM}x",
            "measured": f"{ratio:.2f}x (wall clock: {wall_ratio:.2f}x)",
            "met": ratio >= RATIO_AIM,
        },
        {
            "aim": "peak memory of the rebuild, all its processes together (streamed, not loaded)",
            "target": f"< {RSS_AIM_MB} MB",
            "measured": "n/a" if rss is None else f"{rss:.0f} MB",
            "met": rss is not None and rss < RSS_AIM_MB,
        },
        {
            "aim": "verify: the rebuilt views equal a fresh replay",
            "target": "OK",
            "measured": "OK" if figures["verify"]["ok"] else "FAILED",
            "met": bool(figures["verify"]["ok"]),
        },
    ]
    one = figures.get("one_process")
    if one:
        speedup = rate / one["events_per_s"] if one["events_per_s"] else 0.0
        aims.insert(
            1,
            {
                "aim": f"rebuild on {rebuilt.get('processes', 1)} processes against one "
                "process (same run, same ledger): the bench author's check that the cores "
                "are used, beside the aim above",
                "target": "> 1.0x",
                "measured": f"{speedup:.2f}x ({rate:,.0f} vs {one['events_per_s']:,.0f} events/s)",
                "met": speedup > 1.0,
            },
        )
    sampled = (
        read_profile(profile.read_text("utf-8", errors="replace")) if profile is not None else None
    )
    shares = sampled.shares() if sampled is not None else []
    samples = sampled.summary() if sampled is not None else {}
    figures = {**figures, "profile_stages": dict(shares), "profile_samples": samples}
    return {
        "section": f"Rebuild ({figures['backend']})",
        "command": command,
        "markdown": _markdown(figures, command, shares),
        "aims": aims,
        "figures": figures,
    }


def _markdown(figures: dict[str, Any], command: str, shares: list[tuple[str, float]]) -> str:
    rebuilt, read, built = figures["rebuild"], figures["raw_read"], figures["build"]
    cpu = rebuilt["events_per_cpu_s"]
    rss = rebuilt.get("tree_peak_rss_mb") or rebuilt["peak_rss_mb"]
    biggest = rebuilt["peak_rss_mb"]
    one = figures.get("one_process")
    load = ", ".join(f"{x:.1f}" for x in figures["load_average"])
    lines = [
        f"`{command}`: a ledger of {figures['events']:,} events over {figures['leads']:,} "
        f"leads (one of them with 1,000 events), {figures['backend']}; "
        f"{figures['machine']['nproc']} CPUs, load average during the run {load}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| rebuild (`leadledger projections rebuild`, {rebuilt.get('processes', 1)} "
        f"processes) | {rebuilt['seconds']:.1f} s = **{rebuilt['events_per_s']:,.0f} events/s** |",
        "| rebuild CPU, all its processes (user + sys, incl. start-up) | "
        + ("n/a" if cpu is None else f"{rebuilt['cpu_seconds']:.1f} s = {cpu:,.0f} events/CPU-s")
        + " |",
        f"| rebuild peak RSS, all processes together (largest one) | "
        f"{'n/a' if rss is None else f'{rss:.0f} MB'} "
        f"({'n/a' if biggest is None else f'{biggest:.0f} MB'}) |",
        f"| read all events (recorder, pages of 5,000) | {read['read_seconds']:.1f} s = "
        f"{read['read_events_per_s']:,.0f} events/s |",
        f"| read + decode all events (store's mapper) | {read['read_decode_seconds']:.1f} s = "
        f"{read['read_decode_events_per_s']:,.0f} events/s |",
        f"| read + decode, CPU of this process | {read['read_decode_cpu_seconds']:.1f} s = "
        f"{read['read_decode_events_per_cpu_s']:,.0f} events/CPU-s |",
        f"| ratio rebuild / (read + decode), per CPU-second | "
        f"**{figures['cpu_ratio_rebuild_to_read_decode']:.2f}x** |",
        f"| ratio rebuild / (read + decode), wall clock | "
        f"{figures['ratio_rebuild_to_read_decode']:.2f}x |",
        f"| verify | {'OK' if figures['verify']['ok'] else 'FAILED'} in "
        f"{figures['verify']['wall_seconds']:.1f} s ({figures['verify']['output'][:80]}) |",
    ]
    if one:
        lines.append(
            f"| the same rebuild on one process (`--workers 1`, same run) | "
            f"{one['seconds']:.1f} s = {one['events_per_s']:,.0f} events/s, peak RSS "
            f"{one['tree_peak_rss_mb'] or 0:.0f} MB |"
        )
    if not built.get("reused"):
        lines.append(
            f"| building the ledger (aggregates, {built['events_per_save']:,} events per save) | "
            f"{built['seconds']:.1f} s = {built['events_per_s']:,.0f} events/s |"
        )
    lines += ["", *_profile_lines(figures.get("profile_samples") or {}, shares)]
    lines += [
        "",
        "What bounds it: every process does the same per event — decode the stored JSON "
        "through the store's mapper, fold it with the pure reducer, derive its change feed "
        "items, encode its rows — for the "
        "leads of its lead-id hash partition; the ledger is read by each of them (raw rows are "
        "cheap, only its own events are decoded). On SQLite each writes a journal-less scratch "
        "file, merged into the new generation in one transaction, then the secondary indexes "
        "are built once: that merge and the index build are serial. With 2 CPUs the "
        "best case is twice one process; the 100,000 events/s aim is above what read + "
        "decode alone reaches on one core here. Figures on a shared, loaded CPU are noisy: "
        "compare the ratios.",
    ]
    return "\n".join(lines)


def _profile_lines(samples: dict[str, Any], shares: list[tuple[str, float]]) -> list[str]:
    """The stage table, with whose samples it counts (the rebuild and its workers)."""
    if not shares:
        return [
            "No profile of this run: `--profile` samples it with py-spy (installed by "
            "bench/setup.sh)."
        ]
    processes = ", ".join(
        f"{n:,} in {name.partition(' ')[2].strip('()')}"  # `pid (command)`: the pid says nothing
        for name, n in samples.get("processes", {}).items()
    )
    ranked = sorted(shares, key=lambda s: (s[0] == OTHER, -s[1]))
    lines = [
        f"Where the rebuild's time goes: {samples.get('samples', 0):,} py-spy samples at "
        f"100 Hz of its processes and their threads, without pausing them (by process: "
        f"{processes}), each given to the first stage below with a frame on its stack "
        "(bench/rebuild_stages.py). Shares of samples, not of CPU time: on a busy machine a "
        "thread waiting for a CPU is sampled too.",
        "",
        "| stage | share of samples |",
        "|---|---|",
    ]
    lines += [f"| {name} | {share:.0%} |" for name, share in ranked if share >= 0.005]
    return lines
