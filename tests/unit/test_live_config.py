"""A running server's view of the workspaces file: a change applies (within the check
interval), a file that does not load or is gone is not applied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.config.settings import Settings
from adapters.config.workspaces import load_workspaces
from service_layer import live_config
from service_layer.live_config import LiveWorkspaces
from tests.support import KAPSO_SECRET, WORKSPACE, workspaces_toml


def write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))  # a distinct mtime, however fast the test runs


def test_changes_apply_and_bad_or_missing_files_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_config, "CHECK_SECONDS", 0.0)
    path = tmp_path / "workspaces.toml"
    write(path, workspaces_toml(), 1_000_000_000)
    settings = Settings(database_url="memory://", config_file=path)
    live = LiveWorkspaces(settings, load_workspaces(settings))
    assert live.current().by_name[WORKSPACE].kapso_secrets == [KAPSO_SECRET]

    write(path, workspaces_toml().replace(KAPSO_SECRET, "rotated-secret-of-acme"), 2_000_000_000)
    assert live.current().by_name[WORKSPACE].kapso_secrets == ["rotated-secret-of-acme"]

    write(path, "[workspaces.acme\n", 3_000_000_000)  # broken TOML
    assert live.current().by_name[WORKSPACE].kapso_secrets == ["rotated-secret-of-acme"]
    path.unlink()
    assert live.current().by_name[WORKSPACE].kapso_secrets == ["rotated-secret-of-acme"]
