"""The rebuild benchmark's report: aims, a markdown section, and where the time goes
(py-spy samples of the rebuild process, grouped by stage)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

RATE_AIM = 100_000
RATIO_AIM = 0.25
RSS_AIM_MB = 300

# Stages of a rebuild, by the frames their samples pass through (first match wins).
STAGES = (
    ("read stored events (SQL)", ("select_after ", "select_notifications ")),
    ("decode (store's mapper)", ("to_domain_event ",)),
    ("event -> LedgerEvent", ("to_ledger_event ",)),
    ("load views and messages", ("_load_views ", "_load_messages ", "stuck_leads ")),
    ("reduce (domain.reducer.apply)", ("apply view.py",)),
    ("encode rows", ("encode ", "_write.<locals>")),
    ("SQL writes (executemany)", ("do_executemany ",)),
    ("commit", ("do_commit ",)),
    ("build indexes", ("create_indexes ",)),
    ("start-up (imports, bootstrap)", ("_find_and_load", "bootstrap ")),
)


def stage_shares(profile: Path) -> list[tuple[str, float]]:
    """Share of samples per stage (py-spy raw format: `frame;frame;... count`)."""
    counts: Counter[str] = Counter()
    total = 0
    for line in profile.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1] for f in stack.split(";")]
        for name, needles in STAGES:
            if any(needle in frame for frame in frames for needle in needles):
                counts[name] += int(n)
                break
        else:
            counts["other"] += int(n)
    return [(name, counts[name] / total) for name, _ in [*STAGES, ("other", ())] if total]


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
    shares = stage_shares(profile) if profile is not None else []
    return {
        "section": f"Rebuild ({figures['backend']})",
        "command": command,
        "markdown": _markdown(figures, command, shares),
        "aims": aims,
        "figures": {**figures, "profile_stages": dict(shares)},
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
    if shares:
        lines += ["", "Where the rebuild's time goes (py-spy samples of its processes):", ""]
        lines += ["| stage | share |", "|---|---|"]
        lines += [f"| {name} | {share:.0%} |" for name, share in shares if share >= 0.005]
    lines += [
        "",
        "What bounds it: every process does the same per event — decode the stored JSON "
        "through the store's mapper, fold it with the pure reducer, encode its rows — for the "
        "leads of its lead-id hash partition; the ledger is read by each of them (raw rows are "
        "cheap, only its own events are decoded). On SQLite each writes a journal-less scratch "
        "file, merged into the new generation in one transaction, then the secondary indexes "
        "are built once: that merge and the index build are serial. With 2 CPUs the "
        "best case is twice one process; the 100,000 events/s aim is above what read + "
        "decode alone reaches on one core here. Figures on a shared, loaded CPU are noisy: "
        "compare the ratios.",
    ]
    return "\n".join(lines)
