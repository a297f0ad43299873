"""The master key wrapping the lead keys, on SQLite and PostgreSQL: an older version's bare
keys are wrapped on the first start, `leadledger keys rotate-master` re-wraps every key
and touches no event, and a rotation a crash interrupted is finished by the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey, MasterKeyError, read_key_file, write_key_file
from adapters.keys.master_key_source import MasterKeySource
from api.cli.main import app as cli_app
from api.http.app import create_app
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import AUTH
from tests.support.key_rows import bare_keys, downgrade_to_bare_keys, key_rows, key_table_dump

PEOPLE = {"+6281234567890": "Budi Santoso", "+6281298765432": "Siti Rahayu"}


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The master key file, apart from the data (as the docs advise)."""
    path = tmp_path / "secrets" / "leadledger.master.key"
    monkeypatch.setenv("LEADLEDGER_MASTER_KEY_FILE", str(path))
    monkeypatch.delenv("LEADLEDGER_MASTER_KEY", raising=False)
    return path


def started(url: str, tmp_path: Path) -> Services:
    return bootstrap(settings_for(url, tmp_path))


def seed(url: str, tmp_path: Path) -> dict[str, str]:
    """Sarah reports each person's name; their lead ids, by name."""
    services = started(url, tmp_path)
    try:
        with TestClient(create_app(services.service)) as client:
            ids = {}
            for phone, name in PEOPLE.items():
                body = {
                    "contact_phone": phone,
                    "state": "greeting",
                    "extracted_data": {"name": name},
                }
                resp = client.post("/sarah/state", json=body, headers=AUTH)
                assert resp.status_code == 200, resp.text
                ids[name] = resp.json()["lead_id"]
            return ids
    finally:
        services.close()


def names_read_back(url: str, tmp_path: Path, ids: dict[str, str]) -> set[str]:
    """The names found in each lead's decrypted events (the ledger, not the views)."""
    services = started(url, tmp_path)
    try:
        with TestClient(create_app(services.service)) as client:
            found = set()
            for name, lead_id in ids.items():
                resp = client.get(f"/leads/{lead_id}/events", headers=AUTH)
                assert resp.status_code == 200, resp.text
                if name in resp.text:
                    found.add(name)
            return found
    finally:
        services.close()


def stored_events(url: str) -> list[tuple[Any, int, bytes]]:
    store = open_store(DatabaseURL.parse(url))
    try:
        return [
            (n.originator_id, n.originator_version, bytes(n.state))
            for n in store.recorder.select_notifications(start=1, limit=10_000)
        ]
    finally:
        store.close()


def rotate(env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command's exit code and its output, line wraps undone."""
    result = CliRunner().invoke(cli_app, ["keys", "rotate-master"], env=env)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def cli_env(durable_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LEADLEDGER_DATABASE_URL": durable_database_url,
        "LEADLEDGER_CONFIG_FILE": str(tmp_path / "workspaces.toml"),
    }


def test_bare_keys_of_an_older_version_are_wrapped_on_the_first_start(
    durable_database_url: str, tmp_path: Path, key_file: Path
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    ids = seed(durable_database_url, tmp_path)
    bare = downgrade_to_bare_keys(url, Keyring(read_key_file(key_file)))
    key_file.unlink()  # an older version had no master key
    assert len(bare) == len(PEOPLE)

    assert names_read_back(durable_database_url, tmp_path, ids) == set(PEOPLE.values())
    master = read_key_file(key_file)  # created by that first start
    assert key_file.stat().st_mode & 0o777 == 0o600
    rows = key_rows(url)
    assert {kek for kek, _ in rows.values()} == {master.key_id}
    assert all(key is not None and len(key) == 40 for _, key in rows.values())
    assert bare_keys(url, Keyring(master)) == bare  # the same lead keys, now wrapped
    dump = key_table_dump(url)
    assert not any(key in dump or key.hex().encode() in dump for key in bare.values())


def test_rotate_master_re_wraps_every_key_and_touches_no_event(
    durable_database_url: str, tmp_path: Path, key_file: Path, cli_env: dict[str, str]
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    ids = seed(durable_database_url, tmp_path)
    old = read_key_file(key_file)
    before_rows, before_events = key_rows(url), stored_events(durable_database_url)
    bare = bare_keys(url, Keyring(old))

    code, output = rotate(cli_env)
    assert code == 0, output
    assert f"Re-wrapped {len(PEOPLE)} lead key(s)" in output

    new = read_key_file(key_file)
    assert new.key_id != old.key_id
    assert not key_file.with_name(key_file.name + ".next").exists()
    rows = key_rows(url)
    assert {kek for kek, _ in rows.values()} == {new.key_id}
    assert all(rows[lead][1] != before_rows[lead][1] for lead in rows)
    assert bare_keys(url, Keyring(new)) == bare
    with pytest.raises(MasterKeyError):  # the old master key opens nothing any more
        old.unwrap(next(iter(rows.values()))[1] or b"")
    assert stored_events(durable_database_url) == before_events
    assert names_read_back(durable_database_url, tmp_path, ids) == set(PEOPLE.values())


def test_rotation_with_the_key_in_the_environment(
    durable_database_url: str,
    tmp_path: Path,
    key_file: Path,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    old, new = MasterKey.generate(), MasterKey.generate()
    monkeypatch.setenv("LEADLEDGER_MASTER_KEY", old.secret.hex())
    ids = seed(durable_database_url, tmp_path)
    assert not key_file.exists()  # the variable wins: no key file is made
    before = key_rows(url)

    code, output = rotate(cli_env)
    assert code == 1
    assert "give the new one in LEADLEDGER_NEW_MASTER_KEY" in output
    assert key_rows(url) == before

    code, output = rotate({**cli_env, "LEADLEDGER_NEW_MASTER_KEY": new.text()})
    assert code == 0, output
    assert "Now set LEADLEDGER_MASTER_KEY to the new key" in output
    assert {kek for kek, _ in key_rows(url).values()} == {new.key_id}

    with pytest.raises(MasterKeyError, match=new.key_id):  # restarted with the old key
        started(durable_database_url, tmp_path)
    monkeypatch.setenv("LEADLEDGER_MASTER_KEY", new.text())
    assert names_read_back(durable_database_url, tmp_path, ids) == set(PEOPLE.values())


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
def test_a_rotation_interrupted_by_a_crash_is_finished_by_the_next_start(
    durable_database_url: str, tmp_path: Path, key_file: Path, committed: bool
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    ids = seed(durable_database_url, tmp_path)
    old, new = read_key_file(key_file), MasterKey.generate()
    pending = key_file.with_name(key_file.name + ".next")
    write_key_file(pending, new)  # the rotation chose its key, then the process died
    if committed:  # … after re-wrapping the keys, before renaming the key file
        store = open_store(url, MasterKeySource(given=old))
        store.keys.wrap_all_under(new)
        store.close()

    assert names_read_back(durable_database_url, tmp_path, ids) == set(PEOPLE.values())
    assert read_key_file(key_file) == new
    assert not pending.exists()
    assert {kek for kek, _ in key_rows(url).values()} == {new.key_id}


def test_a_start_with_another_master_key_is_refused_and_changes_nothing(
    durable_database_url: str, tmp_path: Path, key_file: Path
) -> None:
    url = DatabaseURL.parse(durable_database_url)
    seed(durable_database_url, tmp_path)
    before = key_rows(url)
    write_key_file(key_file, MasterKey.generate())  # a key file restored from elsewhere
    with pytest.raises(MasterKeyError, match="does not hold"):
        started(durable_database_url, tmp_path)
    assert key_rows(url) == before
