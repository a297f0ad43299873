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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "scripts" / "mutation.toml"
SCRATCH = ROOT / ".mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"

# Statuses a mutant must not end in unless it is listed as equivalent.
UNEXPLAINED = ("survived", "no tests", "suspicious")


@dataclass
class Module:
    name: str
    paths: list[str]
    tests: list[str]
    functions: list[str] = field(default_factory=list)

    def mutant_globs(self) -> list[str]:
        """mutmut's names for the chosen functions: x_<function> or xǁ<Class>ǁ<method>."""
        globs = []
        for path in self.paths:
            dotted = path.removesuffix(".py").replace("/", ".")
            for function in self.functions:
                mangled = "xǁ" + function.replace(".", "ǁ") if "." in function else "x_" + function
                globs.append(f"{dotted}.{mangled}__mutmut_*")
        return globs


@dataclass
class Survivor:
    mutant: str
    status: str
    diff: str


@dataclass
class ModuleResult:
    name: str
    paths: list[str]
    seconds: float
    counts: dict[str, int]
    survivors: list[Survivor]
    commit: str
    finished_at: str
    # `--recheck`: survivors run again after new tests (its time, and the commit it ran on).
    recheck_seconds: float = 0.0
    recheck_commit: str | None = None


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


def load_results(path: Path) -> dict[str, ModuleResult]:
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return {
        name: ModuleResult(**{**r, "survivors": [Survivor(**s) for s in r["survivors"]]})
        for name, r in stored.items()
    }


def save_result(path: Path, result: ModuleResult) -> None:
    """Re-read before writing: another run may have stored other modules meanwhile."""
    results = load_results(path)
    results[result.name] = result
    path.write_text(json.dumps({n: asdict(r) for n, r in results.items()}, indent=2) + "\n")


def load_equivalents(path: Path) -> dict[str, tuple[str, str]]:
    """Mutant name -> (its diff, why it is equivalent)."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text()).get("equivalent", [])
    return {
        mutant: (diff, " ".join(entry["reason"].split()))
        for entry in entries
        for mutant, diff in entry["mutants"].items()
    }


def explained(survivor: Survivor, equivalents: dict[str, tuple[str, str]]) -> str | None:
    """The recorded reason, if it was written for this very mutation (numbers shift on edits)."""
    diff, reason = equivalents.get(survivor.mutant, ("", ""))
    return reason if diff and diff.strip() == survivor.diff.strip() else None


def render_report(
    modules: list[Module],
    results: dict[str, ModuleResult],
    equivalents: dict[str, tuple[str, str]],
) -> tuple[str, int]:
    """The markdown report and the number of unexplained survivors."""
    lines = [
        "# Mutation report",
        "",
        "Generated by `scripts/mutation.sh` from `docs/mutation-results.json` and",
        "`scripts/mutation_equivalents.toml`; do not edit by hand. How to run it and read it:",
        "[testing.md](testing.md#mutation-testing).",
        "",
        f"mutmut {version('mutmut')}.",
        "",
        "| module | files | mutants | killed | survived | no tests | timeout | other "
        "| equivalent | unexplained | run time | commit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    unexplained: list[tuple[str, Survivor]] = []
    listed: list[tuple[str, Survivor, str]] = []
    total_seconds = 0.0
    for module in modules:
        result = results.get(module.name)
        if result is None:
            lines.append(f"| {module.name} | {', '.join(module.paths)} | not run |" + " |" * 9)
            continue
        total_seconds += result.seconds + result.recheck_seconds
        c = result.counts
        main = ("killed", "survived", "no tests", "timeout")
        other = sum(n for status, n in c.items() if status not in main)
        n_equivalent = 0
        for survivor in result.survivors:
            reason = explained(survivor, equivalents)
            if reason is None:
                unexplained.append((module.name, survivor))
            else:
                n_equivalent += 1
                listed.append((module.name, survivor, reason))
        n_unexplained = len(result.survivors) - n_equivalent
        recheck = f" + {result.recheck_seconds:.0f} s recheck" if result.recheck_commit else ""
        recheck_commit = f", recheck {result.recheck_commit}" if result.recheck_commit else ""
        lines.append(
            f"| {module.name} | {', '.join(f'`{p}`' for p in result.paths)} "
            f"| {sum(c.values())} | {c.get('killed', 0)} | {c.get('survived', 0)} "
            f"| {c.get('no tests', 0)} | {c.get('timeout', 0)} | {other} "
            f"| {n_equivalent} | {n_unexplained} | {result.seconds:.0f} s{recheck} "
            f"| {result.commit}{recheck_commit} |"
        )
    lines += [
        "",
        f"Total run time of the modules above: {total_seconds / 60:.1f} min "
        "(wall clock under `nice -n 19`, on a 2-core machine shared with other work).",
        "",
        "## Unexplained survivors",
        "",
    ]
    if not unexplained:
        lines.append("None.")
    for name, survivor in unexplained:
        lines += [f"- {name}: `{survivor.mutant}` ({survivor.status})", "", "  ```diff"]
        lines += [f"  {d}" for d in survivor.diff.splitlines()]
        lines += ["  ```", ""]
    lines += ["", "## Equivalent mutants", ""]
    if not listed:
        lines.append("None.")
    for name, survivor, reason in listed:
        lines += [f"- {name}: `{survivor.mutant}`: {reason}", "", "  ```diff"]
        lines += [f"  {d}" for d in survivor.diff.splitlines()]
        lines += ["  ```", ""]
    return "\n".join(lines).rstrip() + "\n", len(unexplained)


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
    print(f"report: {settings['report']}; unexplained survivors: {n_unexplained}")
    return 1 if n_unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
