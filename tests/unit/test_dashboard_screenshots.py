"""docs/dashboard.md shows every screenshot the browser tests take, and only those."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
E2E = Path(__file__).resolve().parents[1] / "e2e"


def shots_taken() -> set[str]:
    """The names the browser tests pass to shot() (an f-string's `where` expanded)."""
    names: set[str] = set()
    for test in E2E.glob("test_dashboard*.py"):
        for literal in re.findall(r'shot\(\w+, f?"([^"]+)"', test.read_text(encoding="utf-8")):
            names |= {literal.replace("{where}", w) for w in ("list", "lead")}
    return names


def test_each_screenshot_is_shown_and_exists() -> None:
    page = (DOCS / "dashboard.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(dashboard/([\w-]+)\.png\)", page))
    if not shown:
        pytest.fail("docs/dashboard.md shows no screenshots")
    assert shown == shots_taken()
    on_disk = {p.stem for p in (DOCS / "dashboard").glob("*.png")}
    assert on_disk == shown  # scripts/dashboard_screenshots.sh writes exactly these
