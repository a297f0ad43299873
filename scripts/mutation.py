"""Mutation testing of the critical modules with mutmut; writes the mutation report.

Usage: scripts/mutation.sh [MODULE ...]   (names from scripts/mutation.toml; none: all)
       scripts/mutation.sh --recheck MODULE ...   (run only the stored survivors again)
       scripts/mutation.sh --report       (re-render the report from the stored results)

mutmut reads its settings from pyproject.toml in its working directory, so each module runs in
its own scratch directory .mutation/<module>/: links to the packages and tests, and a
pyproject.toml with that module's [tool.mutmut] section. mutmut copies the tree into
.mutation/<module>/mutants/, mutates it there and leaves the work tree alone.

Results of each module's last run are kept in the results file; the report is rendered from
them and the committed list of equivalent mutants. Exits 1 when a mutant survived that the list
does not explain, so the list stays honest.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "scripts" / "mutation.toml"
SCRATCH = ROOT / ".mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"

sys.path.insert(0, str(ROOT / "scripts"))  # run as a script: its sibling module
from mutation_report import (  # noqa: E402
    UNEXPLAINED,
    Module,
    ModuleResult,
    Survivor,
    load_equivalents,
    load_results,
    render_report,
    save_result,
    splice_summary,
)


def load_config() -> tuple[dict[str, Any], list[Module]]:
    data = tomllib.loads(CONFIG.read_text())
    return data["settings"], [Module(**m) for m in data["module"]]


def mutmut_section(settings: dict[str, Any], module: Module) -> str:
    def toml_list(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(settings['packages'])}\n"
        f"only_mutate = {toml_list(module.paths)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(expand_globs(module.tests))}\n"
        # Hypothesis deadlines and random draws would make kills depend on load and luck.
        'also_copy = ["scripts"]\n'
        'pytest_add_cli_args = ["-p", "scripts.mutation_hypothesis"]\n'
        # The scratch directory is not where git sees the sources.
        "use_git_change_detection = false\n"
    )


def expand_globs(args: list[str]) -> list[str]:
    """Test file globs become the files (pytest does not expand them); other args stay."""
    expanded = []
    for arg in args:
        matches = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(arg))
        expanded += matches if "*" in arg else [arg]
    return expanded


def prepare_scratch(settings: dict[str, Any], module: Module) -> Path:
    """A fresh directory per run: stale mutants or stats would skew the numbers."""
    scratch = SCRATCH / module.name
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for package in [*settings["packages"], "tests", "scripts"]:
        (scratch / package).symlink_to(ROOT / package, target_is_directory=True)
    # Tests find the shared samples beside the repo root; the mutated tree sits one level
    # deeper (<scratch>/mutants/), so the samples must be beside it too.
    for sibling in settings["beside_repo"]:
        if (ROOT.parent / sibling).exists():
            (scratch / sibling).symlink_to(ROOT.parent / sibling, target_is_directory=True)
    pyproject = (ROOT / "pyproject.toml").read_text()
    (scratch / "pyproject.toml").write_text(pyproject + mutmut_section(settings, module))
    return scratch


def mutmut(scratch: Path, *args: str) -> str:
    done = subprocess.run(
        [str(MUTMUT), *args], cwd=scratch, capture_output=True, text=True, check=False
    )
    return done.stdout


def recheck_module(
    settings: dict[str, Any], module: Module, stored: ModuleResult, max_children: int
) -> ModuleResult:
    """Run only the stored survivors again (after tests were added to kill them) and move
    the killed ones over; the other mutants keep their status from the full run."""
    names = [s.mutant for s in stored.survivors]
    if not names:
        return stored
    commit = current_commit()
    scratch = prepare_scratch(settings, module)
    log = scratch / "mutmut.log"
    print(f"[{module.name}] rechecking {len(names)} survivors; log: {log}", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(max_children), *names],
            cwd=scratch,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    statuses = parse_results(mutmut(scratch, "results", "--all", "true"), module)
    counts = dict(stored.counts)
    survivors = []
    for survivor in stored.survivors:
        status = statuses.get(survivor.mutant)
        if status is None:
            sys.exit(f"[{module.name}] no recheck result for {survivor.mutant}; see {log}")
        counts[survivor.status] -= 1
        counts[status] = counts.get(status, 0) + 1
        if status in UNEXPLAINED:
            survivors.append(Survivor(survivor.mutant, status, survivor.diff))
    counts = {k: v for k, v in counts.items() if v}
    print(f"[{module.name}] after recheck {counts} in {seconds:.0f} s", flush=True)
    return ModuleResult(
        name=stored.name,
        paths=stored.paths,
        seconds=stored.seconds,
        counts=counts,
        survivors=survivors,
        commit=stored.commit,
        finished_at=stored.finished_at,
        recheck_seconds=round(stored.recheck_seconds + seconds, 1),
        recheck_commit=commit,
    )


def run_module(settings: dict[str, Any], module: Module, max_children: int) -> ModuleResult:
    commit = current_commit()  # the tree mutmut copies now, not the one when it finishes
    scratch = prepare_scratch(settings, module)
    log = scratch / "mutmut.log"
    print(f"[{module.name}] mutating {', '.join(module.paths)}; log: {log}", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(max_children), *module.mutant_globs()],
            cwd=scratch,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    if done.returncode != 0:  # e.g. the clean test run failed: no mutant was tried
        sys.exit(f"[{module.name}] mutmut failed (exit {done.returncode}); see {log}")
    statuses = parse_results(mutmut(scratch, "results", "--all", "true"), module)
    if not statuses:
        sys.exit(f"[{module.name}] mutmut produced no results; see {log}")
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = [
        Survivor(mutant, status, mutant_diff(scratch, mutant))
        for mutant, status in sorted(statuses.items())
        if status in UNEXPLAINED
    ]
    print(f"[{module.name}] {counts} in {seconds:.0f} s", flush=True)
    return ModuleResult(
        name=module.name,
        paths=module.paths,
        seconds=round(seconds, 1),
        counts=counts,
        survivors=survivors,
        commit=commit,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


RESULT_LINE = re.compile(r"^\s*(\S+__mutmut_\d+): (.+)$")


def parse_results(output: str, module: Module) -> dict[str, str]:
    """`mutmut results --all true` lines, limited to the chosen functions' mutants."""
    globs = [re.compile(g.replace(".", r"\.").replace("*", ".*")) for g in module.mutant_globs()]
    statuses = {}
    for line in output.splitlines():
        match = RESULT_LINE.match(line)
        if match and (not globs or any(g.fullmatch(match[1]) for g in globs)):
            statuses[match[1]] = match[2]
    return statuses


def mutant_diff(scratch: Path, mutant: str) -> str:
    """The changed lines only: the key that ties an equivalence reason to one mutation."""
    lines = mutmut(scratch, "show", mutant).splitlines()
    return "\n".join(
        line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def current_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = "+dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def main() -> int:
    settings, modules = load_config()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module names from scripts/mutation.toml")
    parser.add_argument("--report", action="store_true", help="only re-render the report")
    parser.add_argument(
        "--recheck", action="store_true", help="run only the stored survivors of the modules again"
    )
    parser.add_argument("--max-children", type=int, default=settings["max_children"])
    args = parser.parse_args()
    unknown = set(args.modules) - {m.name for m in modules}
    if unknown:
        parser.error(f"unknown modules {sorted(unknown)}; known: {[m.name for m in modules]}")

    results_path = ROOT / settings["results"]
    if args.recheck:
        by_name = {m.name: m for m in modules}
        for name in args.modules:
            stored = load_results(results_path).get(name)
            if stored is None:
                sys.exit(f"[{name}] no stored run to recheck")
            rechecked = recheck_module(settings, by_name[name], stored, args.max_children)
            save_result(results_path, rechecked)
    elif not args.report:
        by_name = {m.name: m for m in modules}
        for name in args.modules or by_name:  # in the order asked for
            save_result(results_path, run_module(settings, by_name[name], args.max_children))
    results = load_results(results_path)

    equivalents = load_equivalents(ROOT / settings["equivalents"])
    report, n_unexplained = render_report(modules, results, equivalents)
    (ROOT / settings["report"]).write_text(report)
    summary_page = ROOT / settings["summary_in"]
    summary_page.write_text(splice_summary(report, summary_page.read_text()))
    print(f"report: {settings['report']}; unexplained survivors: {n_unexplained}")
    return 1 if n_unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
