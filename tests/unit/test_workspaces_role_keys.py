"""Keys declared in the workspaces file (`[[workspaces.<name>.keys]]`, docs/security.md) and
the admin keys of `api_key_sha256` / LEADLEDGER_API_KEYS: what each declares, and the one-line
error naming where a declaration is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config.settings import Settings
from adapters.config.workspaces import (
    ConfigError,
    ConfiguredKey,
    Workspaces,
    hash_api_key,
    load_workspaces,
)

SECRET = "kapso-secret-of-acme-0001"
ROLE_LIST = "admin, human, console, brain, sarah, import, reader"


def loaded(tmp_path: Path, keys: str, api_keys: str | None = None) -> Workspaces:
    config = tmp_path / "leadledger.toml"
    config.write_text(
        f'[workspaces.acme]\nkapso_webhook_secrets = ["{SECRET}"]\n'
        f'api_key_sha256 = ["{hash_api_key("admin-key")}"]\n{keys}',
        encoding="utf-8",
    )
    return load_workspaces(Settings(config_file=config, api_keys=api_keys))


def test_declared_keys_carry_their_role_and_name(tmp_path: Path) -> None:
    digest = hash_api_key("dewi-key")
    workspaces = loaded(
        tmp_path,
        f'[[workspaces.acme.keys]]\nrole = "human"\nname = " dewi "\nsha256 = "{digest.upper()}"\n'
        '[[workspaces.acme.keys]]\nrole = "sarah"\nname = "sarah-bot"\nkey = "sarah-key"\n',
    )
    assert workspaces.configured_key("dewi-key") == ("acme", ConfiguredKey(digest, "human", "dewi"))
    found = workspaces.configured_key("sarah-key")
    assert found == ("acme", ConfiguredKey(hash_api_key("sarah-key"), "sarah", "sarah-bot"))
    assert found[1].key_id == f"config:{hash_api_key('sarah-key')[:12]}"
    assert workspaces.configured_key("admin-key") == (
        "acme",
        ConfiguredKey(hash_api_key("admin-key"), "admin", "admin", "config"),
    )
    assert workspaces.configured_key("nobody's key") is None


def test_environment_keys_are_admin_keys_of_origin_env_listed_once(tmp_path: Path) -> None:
    workspaces = loaded(tmp_path, "", api_keys="acme=env-key,acme=admin-key")
    keys = workspaces.by_name["acme"].configured_keys()
    assert keys == [
        ConfiguredKey(hash_api_key("env-key"), origin="env"),
        ConfiguredKey(hash_api_key("admin-key"), origin="env"),
    ]
    assert workspaces.configured_key("env-key") == ("acme", keys[0])


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        ('role = "boss"\nname = "x"\nkey = "k"\n', f"needs role (one of {ROLE_LIST}) and name"),
        ('name = "x"\nkey = "k"\n', f"needs role (one of {ROLE_LIST}) and name"),
        ('role = "human"\nname = "  "\nkey = "k"\n', f"needs role (one of {ROLE_LIST}) and name"),
        ('role = "human"\nname = 7\nkey = "k"\n', f"needs role (one of {ROLE_LIST}) and name"),
        ('role = "human"\nname = "x"\n', "needs sha256 (hex of the key) or key"),
        ('role = "human"\nname = "x"\nsha256 = "abc"\n', "needs sha256 (hex of the key) or key"),
        ('role = "human"\nname = "x"\nsha256 = 7\n', "needs sha256 (hex of the key) or key"),
    ],
)
def test_a_wrong_declaration_names_its_place_and_problem(
    tmp_path: Path, declaration: str, problem: str
) -> None:
    fine = '[[workspaces.acme.keys]]\nrole = "reader"\nname = "bi"\nkey = "bi-key"\n'
    with pytest.raises(ConfigError) as refused:
        loaded(tmp_path, fine + "[[workspaces.acme.keys]]\n" + declaration)
    assert str(refused.value) == f"workspaces.acme.keys[1]: {problem}"


@pytest.mark.parametrize(
    "keys", ['keys = "k"\n', "keys = [1, 2]\n", 'keys = [{role = "human"}, 3]\n']
)
def test_keys_that_are_no_array_of_tables_are_refused(tmp_path: Path, keys: str) -> None:
    with pytest.raises(ConfigError) as refused:
        loaded(tmp_path, keys)
    assert str(refused.value) == "workspaces.acme.keys must be an array of tables ([[...]])"
