"""One server process per SQLite data directory, enforced (issue 17): a second `leadledger
serve` (or `--workers 2`) is refused naming the data directory and the holder, and the lock
never goes stale. `leadledger simulate` fails, saying why, against a dead server or with a
wrong secret, and stamps its messages with realistic, spaced times."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.e2e.test_server import LEADLEDGER, eventually, free_port, running_server
from tests.faults import server_env
from tests.support import API_KEY, AUTH, KAPSO_SECRET
from tests.support.workspaces import role_key


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEADLEDGER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def simulate(
    env: dict[str, str], cwd: Path, url: str, secret: str, key: str
) -> subprocess.CompletedProcess[str]:
    return run(
        env, cwd, "simulate", "--url", url, "--count", "12", "--rate", "4", "--leads", "3",
        "--kapso-secret", secret, "--api-key", key,
    )  # fmt: skip


def last_messages(client: httpx.Client) -> list[datetime]:
    resp = client.get("/leads", params={"limit": 50}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return [
        datetime.fromisoformat(lead["last_message_at"])
        for lead in resp.json()["leads"]
        if lead.get("last_message_at")
    ]


def test_a_second_server_on_one_sqlite_ledger_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = server_env(f"sqlite:///{data}/leadledger.db", tmp_path)
    with running_server(env, tmp_path, tmp_path / "first.log") as first:
        second = run(env, tmp_path, "serve", "--port", str(free_port()))
        assert second.returncode == 1, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert str(data.resolve()) in line
        assert f"pid {first.process.pid} " in line
        several = run(env, tmp_path, "serve", "--port", str(free_port()), "--workers", "2")
        assert several.returncode == 2, several.stderr
        assert "--workers 2 needs PostgreSQL" in several.stderr

        wrong = simulate(env, tmp_path, first.base_url, "not-the-secret", "not-the-key")
        assert wrong.returncode == 1, wrong.stdout
        assert "answered 401: the Kapso secret or the API key" in wrong.stderr

        started = datetime.now(UTC)
        right = simulate(env, tmp_path, first.base_url, KAPSO_SECRET, role_key("sarah"))
        assert right.returncode == 0, right.stdout + right.stderr
        with first.client() as client:
            stamps = eventually(lambda: last_messages(client), lambda s: len(s) == 3, 10.0)
        # The time they were sent, not one fixed timestamp (2025-11-24) for every lead.
        earliest, latest = started - timedelta(seconds=2), started + timedelta(minutes=1)
        assert all(earliest <= stamp <= latest for stamp in stamps), stamps
        first.terminate_stopped()
    # The lock died with its holder: a new server starts on the same directory.
    with running_server(env, tmp_path, tmp_path / "again.log") as again:
        again.terminate_stopped()


def test_simulate_against_a_dead_server_fails_at_once(tmp_path: Path) -> None:
    env = server_env("memory://", tmp_path)
    began = time.monotonic()
    done = simulate(env, tmp_path, f"http://127.0.0.1:{free_port()}", KAPSO_SECRET, API_KEY)
    assert done.returncode == 1
    assert "no leadledger server answers at http://127.0.0.1:" in done.stderr
    assert time.monotonic() - began < 30  # not after trying all twelve requests
