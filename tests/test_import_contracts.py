"""The architecture's import rules (pyproject.toml, [tool.importlinter]) hold: domain
imports nothing of ours; api -> service_layer -> projections -> adapters -> domain; the
HTTP API and the CLI reach the ledger through the application service only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
