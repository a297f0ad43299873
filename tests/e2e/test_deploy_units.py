"""docs/deploy.md's systemd units pass `systemd-analyze verify` (unknown keys, bad values,
misplaced settings are reported), with the leadledger path pointing at this checkout's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
UNITS = (
    "leadledger.service",
    "leadledger-projections.service",
    "leadledger-backup.service",
    "leadledger-backup.timer",
)


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if IN_CI:
            pytest.fail("systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed")
    text = DEPLOY.read_text(encoding="utf-8")
    found = dict(
        re.findall(r"^`/etc/systemd/system/([\w.-]+)`.*?```ini\n(.*?)^```", text, re.M | re.S)
    )
    assert sorted(found) == sorted(UNITS)
    here = str(Path(sys.executable).with_name("leadledger"))
    for name, unit in found.items():
        (tmp_path / name).write_text(unit.replace("/opt/leadledger/bin/leadledger", here))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Anything said is a finding (it exits 0 on some of them, e.g. a key in the wrong section).
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
