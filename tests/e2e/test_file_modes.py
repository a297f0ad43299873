"""Everything leadledger creates under its data directory is private to its user (files
0600, directories 0700), whatever the umask it was started under: the ledger, the views
(phones and names), the keys, the master key, the workspaces file and SQLite's -wal/-shm."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters.config.first_run import create_local_config
from adapters.config.settings import Settings
from adapters.webhooks.payloads import KAPSO_RECEIVED, kapso_message
from api.http.app import create_app
from service_layer.bootstrap import bootstrap, check_database, single_server
from tests.support import post_kapso


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def permissive_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_first_start_a_webhook_and_a_view_update_leave_only_private_files(
    tmp_path: Path, permissive_umask: int
) -> None:
    data = tmp_path / "var" / "leadledger"  # neither exists yet: leadledger creates both
    config = data / "leadledger.toml"
    settings = Settings(database_url=f"sqlite:///{data}/leadledger.db", config_file=config)
    with single_server(settings, workers=1):  # what `serve` does, in its order
        check_database(settings, ledger_must_exist=False)
        bootstrap(settings).close()
        created = create_local_config(config)
        services = bootstrap(settings)
        try:
            with TestClient(create_app(services.service)) as client:
                body = kapso_message(
                    "wamid.modes.1",
                    "+6281234567890",
                    phone_number_id="109876543210987",
                    conversation_id="conv_modes",
                    text="halo",
                    sender="6281234567890",
                    conversation_kapso={"contact_name": "Budi"},
                )
                secret = created.kapso_webhook_secret
                resp = post_kapso(client, body, KAPSO_RECEIVED, secret=secret)
                assert resp.status_code == 200, resp.text
                services.views.catch_up()
                issued = services.service.create_api_key(created.workspace, "admin", "admin")
                auth = {"Authorization": f"Bearer {issued.secret}"}
                [lead] = client.get("/leads", headers=auth).json()["leads"]
                assert lead["name"] == "Budi"  # the views were written
                found = modes(data)
        finally:
            services.close()
    expected = {
        "leadledger.toml",
        "leadledger.master.key",
        "leadledger.db",
        "leadledger.keys.db",
        "leadledger.apikeys.db",
        "leadledger.views.db",
        "leadledger.db.startup.lock",
        "leadledger.db.server.lock",
    }
    assert expected <= set(found), sorted(found)
    assert any(name.endswith("-wal") for name in found)  # SQLite's journals are checked too
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert wrong == {}
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700  # a parent it created
