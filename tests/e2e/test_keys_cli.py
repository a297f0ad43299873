"""`leadledger keys` against two running `leadledger serve` processes on one database
(SQLite and PostgreSQL): a key created is usable at once, a revoked one is refused by both
within a second, a rotated one keeps working for its grace period only; webhook secrets
added and retired apply without a restart. No server is restarted."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_server import LEADLEDGER, Server, clean_env, running_server
from tests.support import (
    KAPSO_RECEIVED,
    KAPSO_SECRET,
    SARAH_AUTH,
    WORKSPACE,
    kapso_headers,
    sample,
    workspaces_toml,
)

REFUSED_WITHIN = 1.0
GRACE = 3  # seconds: long enough to see the old key still work after the CLI returns


def keys(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(LEADLEDGER), "keys", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def status_of(server: Server, secret: str) -> int:
    with server.client() as c:
        return c.get("/stats", headers=bearer(secret)).status_code


def refused(server: Server, secret: str) -> Callable[[], bool]:
    return lambda: status_of(server, secret) == 401


def seconds_until(check: Callable[[], bool], limit: float) -> float:
    """How long until `check` holds (polling); `limit` + 1 when it never did by then."""
    start = time.monotonic()
    while time.monotonic() - start <= limit + 1:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return limit + 1


def listed(env: dict[str, str], cwd: Path) -> dict[str, dict[str, Any]]:
    out = keys(env, cwd, "list", "--json").stdout
    return {row["id"]: row for row in map(json.loads, out.splitlines())}


def test_keys_create_use_revoke_rotate_without_restart(
    tmp_path: Path, durable_database_url: str
) -> None:
    config = tmp_path / "workspaces.toml"
    config.write_text(workspaces_toml(), encoding="utf-8")
    env = clean_env(
        LEADLEDGER_DATABASE_URL=durable_database_url,
        LEADLEDGER_CONFIG_FILE=str(config),
        LEADLEDGER_POLL_INTERVAL="0.2",
    )
    with (
        running_server(env, tmp_path, tmp_path / "a.log") as a,
        running_server(env, tmp_path, tmp_path / "b.log") as b,
    ):
        with a.client() as c:
            made = c.post(
                "/sarah/state",
                json={"contact_phone": "+6281234567890", "state": "greeting"},
                headers=SARAH_AUTH,
            )
            assert made.status_code == 200, made.text
            lead = made.json()["lead_id"]

        # create: printed once on stdout, prefixed; usable at once on both servers.
        created = keys(
            env, tmp_path, "create", "--workspace", WORKSPACE, "--role", "human", "--name", "dewi"
        )
        secret = created.stdout.strip()
        assert secret.startswith("llk_")
        assert "\n" not in secret
        with b.client() as c:
            note = c.post(f"/leads/{lead}/notes", json={"content": "hi"}, headers=bearer(secret))
            assert note.status_code == 200, note.text
            assert note.json()["note"]["actor"] == "dewi"
        assert status_of(a, secret) == 200
        rows = listed(env, tmp_path)
        [key_id] = [i for i, row in rows.items() if row["name"] == "dewi"]
        assert rows[key_id]["state"] == "active"
        assert rows[key_id]["last_used_at"]
        assert rows[key_id]["role"] == "human"
        assert rows[key_id]["origin"] == "database"
        everything = keys(env, tmp_path, "list").stdout + json.dumps(rows)
        assert secret not in everything
        assert secret[4:] not in everything

        # revoke: refused by both running servers within a second.
        keys(env, tmp_path, "revoke", key_id)
        for server in (a, b):
            took = seconds_until(refused(server, secret), REFUSED_WITHIN)
            assert took <= REFUSED_WITHIN, server.failure(f"still accepted after {took:.2f} s")
        assert listed(env, tmp_path)[key_id]["state"] == "revoked"

        # rotate with a short grace: old and new both work, then only the new one.
        first = keys(
            env,
            tmp_path,
            "create",
            "--workspace",
            WORKSPACE,
            "--role",
            "reader",
            "--name",
            "dashboard-2",
        ).stdout.strip()
        [first_id] = [i for i, row in listed(env, tmp_path).items() if row["name"] == "dashboard-2"]
        rotated_at = time.monotonic()
        second = keys(env, tmp_path, "rotate", first_id, "--grace", f"{GRACE}s").stdout.strip()
        assert second.startswith("llk_")
        assert second != first
        if time.monotonic() - rotated_at < GRACE - 0.5:  # still inside the grace period
            assert {status_of(a, first), status_of(b, first)} == {200}
        assert {status_of(a, second), status_of(b, second)} == {200}
        for server in (a, b):
            limit = GRACE + REFUSED_WITHIN
            took = seconds_until(refused(server, first), limit)
            assert took <= limit, server.failure("old key still accepted")
        assert {status_of(a, second), status_of(b, second)} == {200}
        rows = listed(env, tmp_path)
        assert rows[first_id]["state"] == "expired"
        assert rows[rows[first_id]["replaced_by"]]["name"] == "dashboard-2"

        # webhook secrets: a new one is accepted, a retired one refused, no restart.
        new = keys(
            env, tmp_path, "webhook-secret", "add", "--workspace", WORKSPACE, "--kind", "kapso"
        ).stdout.strip()
        assert _kapso_status(a, new, REFUSED_WITHIN + 1, 200) == 200
        keys(
            env,
            tmp_path,
            "webhook-secret",
            "retire",
            "--workspace",
            WORKSPACE,
            "--kind",
            "kapso",
            "--secret",
            KAPSO_SECRET,
        )
        assert _kapso_status(b, KAPSO_SECRET, REFUSED_WITHIN + 1, 401) == 401
        assert _kapso_status(b, new, 0, 200) == 200
        assert f'"{KAPSO_SECRET}"' not in config.read_text(encoding="utf-8")

        # `leadledger history --principal`: only what this key's principal said.
        history = subprocess.run(
            [str(LEADLEDGER), "history", lead, "--workspace", WORKSPACE, "--principal", "dewi"],
            env={**env, "COLUMNS": "200"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "NoteAdded" in history
        assert "SarahPhaseReported" not in history
        a.terminate_stopped()
        b.terminate_stopped()


def _kapso_status(server: Server, secret: str, wait: float, want: int) -> int:
    """The status of a delivery signed with `secret`, retried for `wait` s until `want`."""
    body = sample("kapso-message-received.json")
    deadline = time.monotonic() + wait
    while True:
        with server.client() as c:
            try:
                got = c.post(
                    "/webhook/kapso",
                    content=body,
                    headers=kapso_headers(body, KAPSO_RECEIVED, secret=secret),
                ).status_code
            except httpx.HTTPError:
                got = 0
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)
