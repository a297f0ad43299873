"""`leadledger config check` end to end: a good configuration passes and shows what would
run with every secret masked; bad ones fail (exit 1) naming each problem; nothing is
created either way."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_DSN, require_postgres
from tests.e2e.test_operator_mistakes import files_under, run

KAPSO = "k" * 40
META = "m" * 40
TOKEN = "t" * 24
KEY_HASH = "a" * 64


def write_config(tmp_path: Path, kapso: str = KAPSO, mode: int = 0o600) -> Path:
    config = tmp_path / "ws.toml"
    config.write_text(
        "[workspaces.acme]\n"
        f'api_key_sha256 = ["{KEY_HASH}"]\n'
        f'kapso_webhook_secrets = ["{kapso}"]\n'
        f'meta_app_secrets = ["{META}"]\n'
        f'meta_verify_tokens = ["{TOKEN}"]\n',
        encoding="utf-8",
    )
    config.chmod(mode)
    return config


def test_a_good_configuration_passes_with_secrets_masked(tmp_path: Path) -> None:
    write_config(tmp_path)
    before = files_under(tmp_path)
    done = run(tmp_path, "--config", "ws.toml", "config", "check", LEADLEDGER_DEFAULT_REGION="SG")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = dict(
        (label.strip(), value.strip())
        for label, _, value in (line.partition(": ") for line in done.stdout.splitlines())
    )
    assert shown["config file"] == str(tmp_path / "ws.toml")
    assert shown["default region"] == "SG"
    assert shown["workspace acme"].startswith("1 API key, 1 Kapso secret, 1 Meta app secret")
    assert shown["ledger"] == f"sqlite:///{Path('data') / 'leadledger.db'}"
    assert "problem" not in done.stdout
    assert done.stdout.rstrip().endswith("OK")
    for secret in (KAPSO, META, TOKEN, KEY_HASH):
        assert secret not in done.stdout + done.stderr
    assert files_under(tmp_path) == before  # no ledger, no data directory


@pytest.mark.parametrize(
    ("kapso", "mode", "env", "problem"),
    [
        (
            "short",
            0o600,
            {},
            "workspaces.acme.kapso_webhook_secrets is 5 characters; "
            "a secret must be at least 16 characters",
        ),
        (KAPSO, 0o644, {}, "is readable by others (mode 0644): chmod 600"),
        (KAPSO, 0o600, {"LEADLEDGER_SQLITE_DBNAME": "x.db"}, "LEADLEDGER_SQLITE_DBNAME is not"),
        (KAPSO, 0o600, {"LEADLEDGER_POLICY_FILE": "p.toml"}, "policy file p.toml does not exist"),
    ],
    ids=["short-secret", "readable-config", "stray-variable", "missing-policy"],
)
def test_bad_configurations_fail_naming_the_problem(
    tmp_path: Path, kapso: str, mode: int, env: dict[str, str], problem: str
) -> None:
    write_config(tmp_path, kapso, mode)
    done = run(tmp_path, "--config", "ws.toml", "config", "check", **env)
    assert done.returncode == 1, done.stdout
    assert problem in done.stdout
    assert "1 problem(s)" in done.stderr
    assert "short" not in done.stdout.replace("shorter", "")  # the short secret itself


@pytest.mark.postgres
def test_a_missing_postgres_database_fails_the_check(tmp_path: Path) -> None:
    require_postgres()
    name = f"ll_check_{uuid.uuid4().hex[:10]}"
    write_config(tmp_path)
    url = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    done = run(tmp_path, "--config", "ws.toml", "config", "check", LEADLEDGER_DATABASE_URL=url)
    assert done.returncode == 1
    assert f'problem: PostgreSQL database "{name}" does not exist' in done.stdout
    assert "createdb -h " in done.stdout


def test_an_unreadable_configuration_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "ws.toml").write_text("[workspaces\n", encoding="utf-8")
    done = run(tmp_path, "--config", "ws.toml", "config", "check")
    assert done.returncode == 1
    assert "problem: ws.toml: invalid TOML" in done.stdout
