"""docs/testing.md shows the mutation report's summary as generated, never edited by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from mutation_report import SUMMARY_END, SUMMARY_START, splice_summary  # noqa: E402


def block(text: str) -> str:
    return text[text.index(SUMMARY_START) : text.index(SUMMARY_END)]


def test_testing_md_carries_the_reports_summary_as_generated() -> None:
    report = (ROOT / "docs/mutation-report.md").read_text()
    page = (ROOT / "docs/testing.md").read_text()
    assert "| module | files | mutants |" in block(page)
    assert block(page) == block(report)


def test_splicing_replaces_only_the_block() -> None:
    report = f"# r\n{SUMMARY_START}\n| new |\n{SUMMARY_END}\nrest of report\n"
    page = f"intro\n{SUMMARY_START}\n| old |\n{SUMMARY_END}\noutro\n"
    expected = f"intro\n{SUMMARY_START}\n| new |\n{SUMMARY_END}\noutro\n"
    assert splice_summary(report, page) == expected


def test_a_page_without_the_block_is_an_error_not_a_silent_skip() -> None:
    report = f"{SUMMARY_START}\nx\n{SUMMARY_END}\n"
    with pytest.raises(ValueError, match="block"):
        splice_summary(report, "a page\n")
