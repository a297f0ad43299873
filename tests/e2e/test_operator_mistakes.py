"""Mistakes fail loudly, clearly and early (issue 17), through the real `leadledger`
entrypoint: one line on stderr naming what is wrong and where, exit status 2, no traceback
(unless --debug), and nothing created."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_DSN, require_postgres

LEADLEDGER = Path(sys.executable).with_name("leadledger")


def clean_env(**leadledger: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(leadledger, COLUMNS="200")
    return env


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEADLEDGER), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 with one line on stderr holding every word; nothing on stdout."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("leadledger: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert done.stdout == ""
    return lines[0]


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_a_mistyped_config_path_is_named_and_creates_nothing(tmp_path: Path) -> None:
    by_env = run(tmp_path, "serve", LEADLEDGER_CONFIG_FILE="/etc/leadledger/workspace.toml")
    refused(by_env, "config file /etc/leadledger/workspace.toml does not exist")
    by_option = run(tmp_path, "--config", "wrokspaces.toml", "serve")
    refused(by_option, "config file wrokspaces.toml does not exist")
    assert files_under(tmp_path) == set()  # no data/, no new secrets, no ledger


def test_a_command_from_another_directory_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("_id,phone\n", encoding="utf-8")
    for args in (
        ("projections", "status"),
        ("history", "0812-1000-0003"),
        ("forget-again",),
        ("import", "contacts.csv"),  # only with --new-ledger may it start one
    ):
        line = refused(run(tmp_path, *args), "no ledger at")
        assert str(tmp_path / "data" / "leadledger.db") in line
    assert files_under(tmp_path) == {"contacts.csv"}


def test_malformed_toml_names_file_and_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "ws.toml").write_text('default_region = "ID"\n[workspaces.acme\n')
    line = refused(run(tmp_path, "--config", "ws.toml", "projections", "status"), "ws.toml")
    assert "line 2" in line
    assert "Traceback" not in line
    debug = run(tmp_path, "--debug", "--config", "ws.toml", "projections", "status")
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert files_under(tmp_path) == {"ws.toml"}


def test_a_missing_policy_file_and_a_bad_env_value_are_one_line(tmp_path: Path) -> None:
    refused(
        run(tmp_path, "projections", "rebuild", "--policy", "sarah.toml"),
        "policy file sarah.toml does not exist",
    )
    refused(
        run(tmp_path, "projections", "status", LEADLEDGER_POLL_INTERVAL="soon"),
        "LEADLEDGER_POLL_INTERVAL='soon'",
    )
    refused(
        run(tmp_path, "serve", LEADLEDGER_POLICY_FILE=str(tmp_path / "p.toml")),
        f"policy file {tmp_path / 'p.toml'} does not exist",
    )
    assert files_under(tmp_path) == set()


@pytest.mark.postgres
def test_a_missing_postgres_database_prints_no_key_and_says_createdb(tmp_path: Path) -> None:
    require_postgres()
    name = f"ll_missing_{uuid.uuid4().hex[:10]}"
    url = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    done = run(tmp_path, "serve", LEADLEDGER_DATABASE_URL=url)
    line = refused(done, f'PostgreSQL database "{name}" does not exist', "createdb")
    assert name in line.split("createdb", 1)[1]
    assert "API key" not in done.stderr
    assert files_under(tmp_path) == set()  # no config with secrets nobody saw
    with psycopg.connect(PG_DSN) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        assert found.fetchone() is None


def test_version_and_literal_help(tmp_path: Path) -> None:
    shown = run(tmp_path, "--version")
    assert shown.returncode == 0
    assert shown.stdout.strip() == f"leadledger {version('leadledger')}"
    helped = run(tmp_path, "import", "--help")
    assert helped.returncode == 0
    assert "TOML file with a [legacy_status] table." in " ".join(helped.stdout.split())
    secret = run(tmp_path, "simulate", "--help", LEADLEDGER_KAPSO_WEBHOOK_SECRET="s3cr3t-value")
    assert "s3cr3t-value" not in secret.stdout  # a default from the env is never shown
