"""`leadledger backup` while a real server keeps writing: the restored copy is consistent —
its views match a rebuild of its ledger, every event finds its key, and each lead's
history is the live one cut at the moment of the backup."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.e2e.test_server import every_sample, post
from tests.faults import server_env, server_on
from tests.support import AUTH
from tests.support.cli import cli_on

LEADLEDGER = Path(sys.executable).with_name("leadledger")


def test_a_backup_taken_while_the_server_writes_is_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/data/leadledger.db"
    stop = threading.Event()
    with server_on(url, tmp_path, "server.log") as server, server.client() as client:
        lead_ids = {lid for d in every_sample() for lid in _lead_ids(post(client, server, d))}

        def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                phone = f"+6281244440{n % 50:03d}"
                body = {"contact_phone": phone, "state": "listening", "lead_score": n % 100}
                client.post("/sarah/state", headers=AUTH, json=body)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            done = subprocess.run(
                [str(LEADLEDGER), "backup", str(tmp_path / "backup")],
                env=server_env(url, tmp_path),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            stop.set()
            writer.join(timeout=30)
        assert done.returncode == 0, done.stderr + done.stdout
    target = {
        "LEADLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/restored/ledger.db",
        "LEADLEDGER_DATA_DIR": str(tmp_path / "restored"),
    }
    restored = cli_on(server_env(url, tmp_path) | target)
    live = cli_on(server_env(url, tmp_path))
    restored("restore", str(tmp_path / "backup"))
    assert "OK" in restored("projections", "verify")  # the views are those of its ledger
    listed = json.loads(restored("leads", "--json", "--limit", "200"))["leads"]
    assert lead_ids <= {lead["lead_id"] for lead in listed}
    for lead in listed:  # every event found its key: nothing personal reads null
        assert lead["phone"] is not None
        mine = json.loads(restored("history", lead["lead_id"], "--json"))["events"]
        theirs = json.loads(live("history", lead["lead_id"], "--json"))["events"]
        assert mine == theirs[: len(mine)]  # the restored ledger is the live one, cut earlier


def _lead_ids(answer: Any) -> set[str]:
    return {fact["lead_id"] for fact in answer.get("facts", [])} | (
        {answer["lead_id"]} if "lead_id" in answer else set()
    )
