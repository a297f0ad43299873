"""A blank or short webhook secret or verify token is refused at start-up, wherever it is
written (the workspaces file or the environment), naming the workspace and the key; the
test fixtures' own secrets meet the minimum."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.config.secret_rules import MIN_SECRET_LENGTH
from adapters.config.settings import Settings
from adapters.config.workspaces import ConfigError, load_workspaces
from tests.support import workspaces as fixture_secrets

GOOD = "x" * MIN_SECRET_LENGTH
KEYS = ("kapso_webhook_secrets", "meta_app_secrets", "meta_verify_tokens")


def refusal(tmp_path: Path, toml: str | None = None, **env: str) -> str:
    config = tmp_path / "leadledger.toml"
    if toml is not None:
        config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_workspaces(Settings(config_file=config, **env))  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_secret_in_the_workspaces_file_is_refused(
    tmp_path: Path, key: str, blank: str
) -> None:
    toml = f'[workspaces.acme]\n{key} = ["{GOOD}"]\n[workspaces.globex]\n{key} = ["{blank}"]\n'
    assert refusal(tmp_path, toml) == (
        f"workspaces.globex.{key} is blank; a secret must be at least 16 characters"
    )


@pytest.mark.parametrize("key", ["kapso_webhook_secret", "meta_app_secret", "meta_verify_token"])
def test_a_short_single_secret_is_refused_naming_its_key(tmp_path: Path, key: str) -> None:
    toml = f'[workspaces.acme]\n{key} = "{GOOD[:-1]}"\n'
    assert refusal(tmp_path, toml) == (
        f"workspaces.acme.{key} is 15 characters; a secret must be at least 16 characters"
    )


def test_the_position_of_a_bad_secret_in_a_rotation_list_is_named(tmp_path: Path) -> None:
    toml = f'[workspaces.acme]\nkapso_webhook_secrets = ["{GOOD}", "short"]\n'
    message = refusal(tmp_path, toml)
    assert message.startswith("workspaces.acme.kapso_webhook_secrets[1] is 5 characters")
    assert "short" not in message.replace("5 characters", "")  # never the secret itself


@pytest.mark.parametrize(
    ("variable", "setting"),
    [
        ("LEADLEDGER_KAPSO_WEBHOOK_SECRET", "kapso_webhook_secret"),
        ("LEADLEDGER_META_APP_SECRET", "meta_app_secret"),
        ("LEADLEDGER_META_VERIFY_TOKEN", "meta_verify_token"),
    ],
)
def test_a_short_secret_in_the_environment_is_refused(
    tmp_path: Path, variable: str, setting: str
) -> None:
    message = refusal(tmp_path, "[workspaces.acme]\n", **{setting: f"{GOOD}, tiny"})
    assert message == f"{variable}[1] is 4 characters; a secret must be at least 16 characters"


def test_secrets_of_the_minimum_length_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "leadledger.toml"
    config.write_text("[workspaces.acme]\n" + "".join(f'{k} = ["{GOOD}"]\n' for k in KEYS))
    loaded = load_workspaces(Settings(config_file=config))
    assert loaded.kapso_secrets() == [("acme", GOOD)]
    assert loaded.meta_verify_tokens() == [GOOD]


def test_the_test_fixtures_secrets_meet_the_minimum() -> None:
    secrets = [
        value
        for name, value in vars(fixture_secrets).items()
        if name.endswith(("_SECRET", "_VERIFY_TOKEN"))
    ]
    assert len(secrets) == 6
    assert all(len(secret) >= MIN_SECRET_LENGTH for secret in secrets)


def test_serve_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "leadledger.toml"
    config.write_text('[workspaces.acme]\napi_keys = ["k"]\nmeta_verify_tokens = [""]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env["LEADLEDGER_CONFIG_FILE"] = str(config)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("leadledger")), "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "workspaces.acme.meta_verify_tokens is blank" in done.stderr
    assert "Traceback" not in done.stderr
