"""load_settings: what the entrypoints run with, and the mistakes it refuses before anything
is created (issue 17): an explicit config path that is missing, a bad environment value,
malformed TOML; the data directory from the environment or the config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.config.errors import ConfigError
from adapters.config.loading import load_settings
from adapters.config.policy_file import read_policy_file


@pytest.fixture(autouse=True)
def no_leadledger_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("LEADLEDGER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def refusal() -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_live_in_data_under_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.config_file == Path("data/leadledger.toml")
    assert settings.database_url == "sqlite:///data/leadledger.db"
    assert list(tmp_path.iterdir()) == []  # loading creates nothing


def test_an_explicit_config_path_that_is_missing_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEADLEDGER_CONFIG_FILE", "/etc/leadledger/workspace.toml")
    assert refusal().startswith("config file /etc/leadledger/workspace.toml does not exist")
    assert list(tmp_path.iterdir()) == []


def test_the_data_directory_moves_the_config_and_the_ledger(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEADLEDGER_DATA_DIR", str(tmp_path / "srv"))
    settings = load_settings()
    assert settings.config_file == tmp_path / "srv" / "leadledger.toml"
    assert settings.database_url == f"sqlite:///{tmp_path}/srv/leadledger.db"


def test_the_config_file_names_the_data_directory_relative_to_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "etc" / "leadledger.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "../var"\n', encoding="utf-8")
    monkeypatch.setenv("LEADLEDGER_CONFIG_FILE", str(config))
    settings = load_settings()
    assert settings.data_dir.resolve() == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{config.parent / '../var'}/leadledger.db"
    # The environment wins over the file, and an explicit URL over both.
    monkeypatch.setenv("LEADLEDGER_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", "memory://")
    settings = load_settings()
    assert (settings.data_dir, settings.database_url) == (tmp_path / "env", "memory://")


def test_malformed_toml_names_the_file_and_the_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "ws.toml"
    config.write_text('default_region = "ID"\n[workspaces.acme\n', encoding="utf-8")
    monkeypatch.setenv("LEADLEDGER_CONFIG_FILE", str(config))
    message = refusal()
    assert message.startswith(f"{config}: invalid TOML: ")
    assert "line 2" in message


def test_bad_environment_values_are_named_with_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADLEDGER_MAX_BODY_BYTES", "lots")
    monkeypatch.setenv("LEADLEDGER_FOLLOW", "maybe")
    message = refusal()
    assert "LEADLEDGER_MAX_BODY_BYTES='lots'" in message
    assert "LEADLEDGER_FOLLOW='maybe'" in message


def test_a_bad_data_dir_in_the_config_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "ws.toml"
    config.write_text("data_dir = 3\n", encoding="utf-8")
    monkeypatch.setenv("LEADLEDGER_CONFIG_FILE", str(config))
    assert refusal() == f"{config}: data_dir must be a non-empty string (a directory)"


def test_policy_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^policy file .*nope\.toml does not exist$"):
        read_policy_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("rank = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown policy keys: rank"):
        read_policy_file(bad)
