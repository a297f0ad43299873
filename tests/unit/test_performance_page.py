"""docs/performance.md is generated: it is the rendering of the committed section results,
and a section re-run changes only its own part. No benchmark runs here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.import_bench import import_aims
from bench.ledger import events_per_save
from bench.page import (
    PAGE,
    RESULTS,
    SECTIONS,
    load_results,
    render,
    run_header,
    run_label,
    save_result,
)
from bench.rebuild_report import report

MACHINE = {"nproc": 2, "cpu_model": "test CPU", "python": "3.11.7", "platform": "Linux"}


def answer(section: str, measured: str, met: bool) -> dict[str, Any]:
    header = run_header(
        f"python -m bench.run --only {section}",
        "2026-12-02 10:00 UTC",
        MACHINE,
        0.5,
        (1.0, 1.1),
        30.0,
        pg=False,
        exit_code=0,
    )
    return {
        "section": section.title(),
        "command": f"python -m bench.{section}",
        "markdown": f"a table measured as {measured}",
        "aims": [{"aim": f"{section} aim", "target": "< 1 s", "measured": measured, "met": met}],
        "run": header,
    }


def aim_rows(page: str) -> list[str]:
    table = page.split("## Every section's aims\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return table[2:]


def test_the_committed_page_is_the_rendering_of_the_committed_results() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(load_results(RESULTS)), (
        "docs/performance.md differs from its sources: run `python -m bench.page`"
    )


def test_every_aim_row_of_the_page_comes_from_a_section_result() -> None:
    results = load_results(RESULTS)
    generated = {
        f"| {a['aim']} | {a['target']} | {a['measured']} | {'yes' if a['met'] else '**no**'} "
        f"| {run_label(r['run'])} |"
        for r in results.values()
        for a in r.get("aims", [])
    }
    rows = aim_rows(PAGE.read_text(encoding="utf-8"))
    measured = [row for row in rows if "no current measurement" not in row]
    assert measured, "the page shows no measured aim"
    assert set(measured) <= generated


def test_a_section_without_a_result_is_shown_unmeasured_with_its_command(tmp_path: Path) -> None:
    save_result("lag", answer("lag", "0.5 s", met=True), tmp_path)
    page = render(load_results(tmp_path))
    for name in SECTIONS:
        if name != "lag":
            assert f"`python -m bench.run --only {name}`" in page
    assert "| lag aim | < 1 s | 0.5 s | yes | 2026-12-02, load 0.5 on 2 CPUs |" in aim_rows(page)
    assert "by `python -m bench.run --only lag` on 2026-12-02 10:00 UTC" in page


def test_a_section_rerun_replaces_only_its_own_result(tmp_path: Path) -> None:
    save_result("lag", answer("lag", "0.5 s", met=True), tmp_path)
    save_result("import", answer("import", "70 s", met=False), tmp_path)
    kept = (tmp_path / "lag.json").read_bytes()
    save_result("import", answer("import", "50 s", met=True), tmp_path)
    assert (tmp_path / "lag.json").read_bytes() == kept
    page = render(load_results(tmp_path))
    assert "70 s" not in page
    assert "| import aim | < 1 s | 50 s | yes | 2026-12-02, load 0.5 on 2 CPUs |" in aim_rows(page)


def test_the_issues_import_aim_counts_the_notes_and_the_authors_reading_never_decides_it() -> None:
    issue, author = import_aims("SQLite", 61.0, 37.3, 0, 100_000)
    assert "notes" in issue["target"]
    assert "well under a minute" in issue["target"]
    assert not issue["met"]
    assert author["met"]
    issue, _ = import_aims("SQLite", 51.2, 45.0, 0, 100_000)
    assert issue["met"]
    issue, _ = import_aims("SQLite", 51.2, 37.3, 1, 100_000)
    assert not issue["met"], "a re-import that appends misses the aim"


def test_the_ledger_build_label_says_how_many_events_the_builder_saved_at_a_time() -> None:
    figures: dict[str, Any] = {
        "backend": "postgres",
        "events": 20_000,
        "leads": 2_000,
        "build": {
            "reused": False,
            "events_per_save": events_per_save(pg=True),
            "seconds": 5.0,
            "events_per_s": 4000.0,
        },
        "rebuild": {
            "events_per_s": 7000.0,
            "events_per_cpu_s": 8000.0,
            "peak_rss_mb": 100.0,
            "seconds": 3.0,
            "cpu_seconds": 2.5,
        },
        "raw_read": {
            "read_seconds": 1.0,
            "read_events_per_s": 20_000.0,
            "read_decode_seconds": 2.0,
            "read_decode_events_per_s": 10_000.0,
            "read_decode_cpu_seconds": 2.0,
            "read_decode_events_per_cpu_s": 10_000.0,
        },
        "verify": {"ok": True, "wall_seconds": 1.0, "output": "OK"},
        "ratio_rebuild_to_read_decode": 0.7,
        "cpu_ratio_rebuild_to_read_decode": 0.8,
        "machine": MACHINE,
        "load_average": (0.5, 0.5, 0.5),
    }
    markdown = report(figures, "python -m bench.rebuild --pg", None)["markdown"]
    assert f"aggregates, {events_per_save(pg=True):,} events per save" in markdown
    assert events_per_save(pg=True) != events_per_save(pg=False)


def run_suite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *argv: str
) -> dict[str, dict[str, Any]]:
    """bench.run's main with every bench answering at once (no benchmark runs): what it
    saves as section results, with the page and scratch directories under tmp_path."""
    import bench.run as suite

    saved: dict[str, dict[str, Any]] = {}

    def fake_bench(name: str, *_: Any) -> tuple[dict[str, Any], int]:
        return {k: v for k, v in answer(name, "1 s", met=True).items() if k != "run"}, 0

    def fake_save(name: str, result: dict[str, Any]) -> Path:
        saved[name] = result
        return save_result(name, result, tmp_path / "results")

    monkeypatch.setattr(suite, "run_bench", fake_bench)
    monkeypatch.setattr(suite, "ensure_tools", lambda: None)  # never apt-get in a test
    monkeypatch.setattr(suite, "speed_probe", lambda: 1.0)
    monkeypatch.setattr(suite, "save_result", fake_save)
    monkeypatch.setattr(suite, "load_results", lambda: load_results(tmp_path / "results"))
    monkeypatch.setattr(suite, "PAGE", tmp_path / "performance.md")
    monkeypatch.setattr(suite, "OUT", tmp_path / "out")
    monkeypatch.setattr("sys.argv", ["bench.run", *argv])
    suite.main()
    return saved


def test_a_quick_run_writes_neither_the_page_nor_section_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert run_suite(monkeypatch, tmp_path, "--quick", "--no-pg") == {}
    assert not (tmp_path / "performance.md").exists()
    assert "smoke test" in (tmp_path / "out" / "performance-quick.md").read_text()


def test_a_full_section_run_saves_its_result_and_renders_the_page_from_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    save_result("import", answer("import", "50 s", met=True), tmp_path / "results")
    saved = run_suite(monkeypatch, tmp_path, "--only", "lag", "--no-pg")
    assert list(saved) == ["lag"]
    assert saved["lag"]["run"]["command"] == "python -m bench.run --only lag --no-pg"
    page = (tmp_path / "performance.md").read_text()
    assert page == render(load_results(tmp_path / "results"))
    assert "50 s" in page  # the import result measured earlier is still shown
