"""docs/quickstart.md, run as written: every shell block, in order, in a fresh directory,
against the real server its first block starts (tests/support/doc_blocks.py says how a
block is treated). Placeholders are replaced by what that server printed, and port 8000 by
a free port. The PostgreSQL block runs in its own test, on a database made for it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import PG_DSN, require_postgres
from tests.e2e.test_server import (
    STARTUP_SECONDS,
    Server,
    _wait_healthy,
    clean_env,
    free_port,
    printed,
)
from tests.support.doc_blocks import Block, blocks

VENV = Path(sys.executable).parent.parent
BLOCK_SECONDS = 120


@contextmanager
def serving(command: str, cwd: Path, log: Path) -> Iterator[Server]:
    """`command` (a docs line, env assignments and all) on a free port, healthy; its whole
    process group (uvicorn's workers too) is stopped on the way out."""
    for attempt in range(3):
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"{command} --port {port}"],
                cwd=cwd,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log)
        try:
            if _wait_healthy(server, time.monotonic() + STARTUP_SECONDS):
                yield server
                return
            if "address already in use" not in server.output().lower() or attempt == 2:
                pytest.fail(server.failure(f"server exited with {process.returncode}"))
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 25), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(block: Block, text: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", text],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
        check=False,
    )
    assert done.returncode == 0, (
        f"{block.where} failed ({done.returncode}):\n{text}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    return done.stdout


def filled(block: Block, values: dict[str, str]) -> str:
    text = block.text
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    assert "<printed" not in text, f"{block.where}: a placeholder the test does not know"
    return text


def in_fresh_directory(tmp_path: Path) -> Path:
    """A directory where `.venv/bin/leadledger` is this test's installed leadledger."""
    (tmp_path / ".venv").symlink_to(VENV)
    return tmp_path


def cli_json(cwd: Path, *args: str, **env: str) -> object:
    done = subprocess.run(
        [str(VENV / "bin" / "leadledger"), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_block_is_run_or_says_why() -> None:
    page = blocks("quickstart.md")
    assert page, "no shell blocks found in docs/quickstart.md"
    for block in page:
        assert block.kind in ("run", "server", "server postgres", "skip"), block.where
        if block.kind != "run":
            assert block.reason, f"{block.where}: say why the block is not run as written"


def test_readme_starts_the_server_as_the_quick_start_does() -> None:
    """So the run below proves README.md's set-up block too."""
    assert blocks("../README.md")[0].text == blocks("quickstart.md")[0].text


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    cwd = in_fresh_directory(tmp_path)
    first, *rest = blocks("quickstart.md")
    assert first.kind == "server", first.where
    before, command = first.server_command()
    assert not before
    assert "pip install" in first.text  # the install steps are this test's own environment

    with serving(command, cwd, tmp_path / "server.log") as server:
        output = server.output()
        values = {
            "<printed key>": printed(output, "API key (shown once)"),
            "<printed Kapso secret>": printed(output, "Kapso webhook secret"),
            "<printed Meta app secret>": printed(output, "Meta app secret"),
            "http://127.0.0.1:8000": server.base_url,
        }
        ran = [run(b, filled(b, values), cwd) for b in rest if b.kind == "run"]
        assert len(ran) == 5  # traffic, Kapso, Meta, look, backup/restore

        auth = {"Authorization": f"Bearer {values['<printed key>']}"}
        with server.client() as client:
            for phone, name in (
                ("0812-1000-0003", None),
                ("+6281234567890", "Budi Santoso"),
                ("+6281398765432", "Andi Wijaya"),
            ):
                found = client.get(f"/leads/by-phone/{phone}", headers=auth)
                assert found.status_code == 200, (phone, found.text)
                assert name is None or found.json()["name"] == name
        # The restored copy serves the very leads the server served at the backup.
        restored = {"LEADLEDGER_DATA_DIR": "restored"}
        everything = ("leads", "--json", "--limit", "200")
        assert cli_json(cwd, *everything, **restored) == cli_json(cwd, *everything)


@pytest.mark.postgres
def test_quickstart_postgres_block(tmp_path: Path) -> None:
    require_postgres()
    [block] = [b for b in blocks("quickstart.md") if b.kind == "server postgres"]
    database = f"ll_docs_{uuid.uuid4().hex[:10]}"
    text = block.text.replace("-U postgres leadledger", f"-U postgres {database}")
    text = text.replace("5432/leadledger", f"5432/{database}")
    assert text.count(database) == 2, f"{block.where}: the test's substitutions are stale"
    before, command = Block(block.page, block.line, block.kind, block.reason, text).server_command()
    cwd = in_fresh_directory(tmp_path)
    try:
        for line in before:
            run(block, line, cwd)
        with serving(command, cwd, tmp_path / "server.log") as server:
            ready = httpx.get(f"{server.base_url}/readyz", timeout=15)
            assert ready.status_code == 200, server.failure(ready.text)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
