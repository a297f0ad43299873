"""docs/performance.md, rendered from the sections' committed results, and nothing else.

    .venv/bin/python -m bench.page      # render docs/performance.md from bench/results/

Every section that `python -m bench.run` measures in a full run keeps its JSON answer in
bench/results/<section>.json, with the header of the run that measured it (command, date,
machine, load average, speed probe). A section re-run (`--only import`) replaces only its
file, and the page is rendered again from all of them: sections measured on different days
each say when and how. A section without a file is shown as not measured, with the command
that measures it. bench/out/ is scratch (gitignored); the results are what the page shows.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.aims import table as issue_aims_table
from bench.changes_report import CHANGES_TITLE
from bench.common import ROOT

RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "performance.md"
# Page order; rebuild runs before queries in a full run (queries reuses its ledger).
# Sections other benches add register here, with a title, and in bench/run.py's jobs.
SECTIONS = (
    "ingest",
    "lag",
    "rebuild",
    "queries",
    "rebuild-pg",
    "projection-processes",  # 1 vs 2 projection processes (bench.aims reads its aims)
    "import",
    "fairness",
    "outbound",
    "dashboard",
    "changes",
)
# A section's heading whether measured or not, so links to it (#import-sqlite) hold.
TITLES = {
    "ingest": "Ingest over HTTP",
    "lag": "Read-your-writes lag",
    "rebuild": "Rebuild (sqlite)",
    "queries": "Queries (sqlite)",
    "rebuild-pg": "Rebuild (postgres)",
    "projection-processes": "Projection processes: 1 vs 2",
    "import": "Import (SQLite)",
    "fairness": "Fair intake: one huge batch, other senders (sqlite)",
    "outbound": "Ingest with a receiver down (sqlite)",
    "dashboard": "Dashboard pages (sqlite)",
    "changes": CHANGES_TITLE,
}

INTRO = (
    "Timings vary between machines; what counts are the ratios against baselines measured "
    "side by side in the same run."
)


def run_header(
    command: str,
    date: str,
    machine: dict[str, Any],
    load_average: float,
    speed_probe_seconds: tuple[float | None, float | None],
    seconds: float,
    pg: bool,
    exit_code: int | None,
) -> dict[str, Any]:
    """What a reader needs to weigh a section's figures: how, when and where it ran."""
    return {
        "command": command,
        "commit": _commit(),
        "date": date,
        "machine": machine,
        "load_average": load_average,
        "speed_probe_seconds": list(speed_probe_seconds),
        "seconds": seconds,
        "pg": pg,
        "exit_code": exit_code,
    }


def _commit() -> str | None:
    """The code measured: the checkout's commit (None outside a git checkout)."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip() or None


def save_result(name: str, result: dict[str, Any], results: Path = RESULTS) -> Path:
    """Replace one section's result; the other sections' files are left as they are."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_results(results: Path = RESULTS) -> dict[str, dict[str, Any]]:
    return {
        name: json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        for name in SECTIONS
        if (results / f"{name}.json").exists()
    }


def header_line(run: dict[str, Any]) -> str:
    m = run["machine"]
    before, after = run["speed_probe_seconds"]
    probe = (
        "no speed probe (--quick)"
        if before is None or after is None
        else f"speed probe {before:.2f} s before, {after:.2f} s after (`bench.common."
        "speed_probe`: CPU seconds of a fixed Python loop, lower is faster; it shows how "
        "much this shared machine's speed moved)"
    )
    at = f" at commit {run['commit']}" if run.get("commit") else ""
    return (
        f"Measured by `{run['command']}` on {run['date']} in {run['seconds']:.0f} s{at}; "
        f"{m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, {m['platform']}; "
        f"load average {run['load_average']:.1f} at the start (on {m['nproc']} CPUs: other "
        f"work on the machine makes every figure noisier); {probe}; "
        f"PostgreSQL {'on' if run['pg'] else 'off'}; the bench's exit code: "
        f"{'none (stopped)' if run['exit_code'] is None else run['exit_code']}."
    )


def not_measured(name: str) -> str:
    return f"not measured: run `python -m bench.run --only {name}`"


def run_label(run: dict[str, Any]) -> str:
    """Beside each aim: when, and how busy the machine was (a loaded one misses more)."""
    return f"{run['date'][:10]}, load {run['load_average']:.1f} on {run['machine']['nproc']} CPUs"


def aims_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| aim | target | measured | met? | run (date, load) |", "|---|---|---|:---:|---|"]
    for name in SECTIONS:
        result = results.get(name)
        if result is None or "error" in result:
            why = not_measured(name) if result is None else "not available (see its section)"
            lines.append(f"| `{name}`: no current measurement | | {why} | | |")
            continue
        day = run_label(result["run"])
        for aim in result["aims"]:
            mark = "yes" if aim["met"] else "**no**"
            lines.append(f"| {aim['aim']} | {aim['target']} | {aim['measured']} | {mark} | {day} |")
    return lines


def section(name: str, result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return [
            f"## {TITLES[name]}",
            "",
            f"No current measurement: run `python -m bench.run --only {name}`.",
        ]
    header = ["", header_line(result["run"])]
    if "error" in result:
        md = [f"## {TITLES[name]}", *header, "", f"Not available: `{name}` {result['error']}."]
        if result.get("log_tail"):
            md += ["", "```", result["log_tail"], "```"]
        return md
    body = result["markdown"].rstrip().split("\n")
    # Benches that title their own section keep the title; the others get theirs.
    title = body.pop(0) if body[0].startswith("## ") else f"## {result['section']}"
    if body and body[0].strip():
        body.insert(0, "")
    return [title, *header, *body, "", f"Bench command: `{result['command']}`."]


def render(results: dict[str, dict[str, Any]], quick: bool = False) -> str:
    """The page, from section results alone: the same results give the same bytes."""
    if quick:
        source = (
            "A smoke test (`python -m bench.run --quick`): small sizes, so the aims' figures "
            "here are extrapolations, not measurements of the aims. Nothing here is edited "
            "by hand."
        )
    else:
        source = (
            "Generated by `python -m bench.page` (which `python -m bench.run` calls) from the "
            "sections' results in `bench/results/`, each written by the run that measured it; "
            "nothing here is edited by hand, and `tests/unit/test_performance_page.py` checks "
            "that this page is the rendering of those results. A section re-measured with "
            "`python -m bench.run --only <section>` replaces only its own result."
        )
    measured = [name for name in SECTIONS if name in results and "error" not in results[name]]
    missing = [name for name in SECTIONS if name not in measured]
    md = [
        "# Performance",
        "",
        f"{INTRO} {source}",
        "",
        "- Sections measured: "
        + (", ".join(f"{n} ({results[n]['run']['date']})" for n in measured) or "none"),
        "- No current measurement: "
        + (", ".join(f"{n} (`python -m bench.run --only {n}`)" for n in missing) or "none"),
        "",
        "## Aims of issue 18 (performance, second step)",
        "",
        "Each row is read from the sections' results below (bench/aims.py); a missed aim "
        "says by how much, what the per-delivery CPU budget shows and what would close it.",
        "",
        *issue_aims_table(results),
        "",
        "## Every section's aims",
        "",
        *aims_table(results),
    ]
    for name in SECTIONS:
        md += ["", *section(name, results.get(name))]
    return "\n".join(md) + "\n"


def main() -> None:
    PAGE.write_text(render(load_results()), encoding="utf-8")
    print(f"wrote {PAGE} from {RESULTS}")


if __name__ == "__main__":
    main()
