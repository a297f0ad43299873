"""Workspaces from the TOML config and the environment: keys, secrets, WhatsApp numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config.settings import Settings
from adapters.config.workspaces import ConfigError, Workspaces, hash_api_key, load_workspaces
from adapters.webhooks.signatures import matching_workspaces, sign

BODY = b'{"hello": "world"}'

TWO_WORKSPACES = f"""
default_region = "ID"

[workspaces.acme]
api_key_sha256 = ["{hash_api_key("acme-key-1")}"]
api_keys = ["acme-key-2"]
kapso_webhook_secrets = ["acme-kapso-secret-old", "acme-kapso-secret-new"]
meta_app_secret = "acme-meta-app-secret"
meta_verify_tokens = ["acme-verify-token-1"]
phone_number_ids = ["109876543210987", "109876543210988"]

[workspaces.globex]
api_key_sha256 = "{hash_api_key("globex-key")}"
kapso_webhook_secret = "globex-kapso-secret"
meta_app_secrets = ["globex-meta-app-secret"]
phone_number_ids = ["200000000000001"]
"""


def settings(tmp_path: Path, toml: str | None = None, **values: object) -> Settings:
    config = tmp_path / "leadledger.toml"
    if toml is not None:
        config.write_text(toml, encoding="utf-8")
    return Settings(config_file=config, **values)  # type: ignore[arg-type]


@pytest.fixture
def two(tmp_path: Path) -> Workspaces:
    return load_workspaces(settings(tmp_path, TWO_WORKSPACES))


def test_two_workspaces_from_toml(two: Workspaces) -> None:
    assert sorted(two.by_name) == ["acme", "globex"]
    assert two.single is None
    assert two.default_region == "ID"


def test_phone_number_ids_route_to_their_workspace(two: Workspaces) -> None:
    assert two.for_phone_number_id("109876543210987") == "acme"
    assert two.for_phone_number_id("109876543210988") == "acme"
    assert two.for_phone_number_id("200000000000001") == "globex"
    assert two.for_phone_number_id("999") is None
    assert two.for_phone_number_id(None) is None


def test_api_keys_hashed_or_plain_in_toml(two: Workspaces) -> None:
    assert two.for_api_key("acme-key-1") == "acme"
    assert two.for_api_key("acme-key-2") == "acme"
    assert two.for_api_key("globex-key") == "globex"
    assert two.for_api_key("nope") is None
    assert two.for_api_key(hash_api_key("acme-key-1")) is None  # the hash is no key
    # Only hashes are held in memory.
    assert "acme-key-2" not in two.by_name["acme"].api_key_hashes
    assert hash_api_key("acme-key-2") in two.by_name["acme"].api_key_hashes


def test_hash_api_key_is_sha256_hex() -> None:
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_two_kapso_secrets_during_rotation_both_sign(two: Workspaces) -> None:
    secrets = two.kapso_secrets()
    for secret in ("acme-kapso-secret-old", "acme-kapso-secret-new"):
        assert matching_workspaces(sign(secret, BODY), BODY, secrets) == {"acme"}
    assert matching_workspaces(sign("globex-kapso-secret", BODY), BODY, secrets) == {"globex"}
    assert matching_workspaces(sign("retired", BODY), BODY, secrets) == set()


def test_meta_secrets_and_tokens(two: Workspaces) -> None:
    secrets = two.meta_secrets()
    assert matching_workspaces("sha256=" + sign("acme-meta-app-secret", BODY), BODY, secrets) == {
        "acme"
    }
    assert matching_workspaces("sha256=" + sign("globex-meta-app-secret", BODY), BODY, secrets) == {
        "globex"
    }
    assert two.meta_verify_tokens() == ["acme-verify-token-1"]


def test_env_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADLEDGER_API_KEYS", " acme = env-acme , initech=env-initech")
    loaded = load_workspaces(settings(tmp_path, TWO_WORKSPACES))
    assert sorted(loaded.by_name) == ["acme", "globex", "initech"]
    assert loaded.for_api_key("env-acme") == "acme"
    assert loaded.for_api_key("acme-key-1") == "acme"  # the TOML keys still work
    assert loaded.for_api_key("env-initech") == "initech"
    assert loaded.for_api_key(" env-acme") is None


def test_env_secrets_apply_to_every_workspace_and_rotate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "LEADLEDGER_KAPSO_WEBHOOK_SECRET", "env-kapso-secret-old, env-kapso-secret-new"
    )
    monkeypatch.setenv("LEADLEDGER_META_VERIFY_TOKEN", "env-verify-token-1")
    loaded = load_workspaces(settings(tmp_path, TWO_WORKSPACES))
    secrets = loaded.kapso_secrets()
    for secret in ("env-kapso-secret-old", "env-kapso-secret-new"):
        assert matching_workspaces(sign(secret, BODY), BODY, secrets) == {"acme", "globex"}
    assert matching_workspaces(sign("acme-kapso-secret-new", BODY), BODY, secrets) == {"acme"}
    assert sorted(loaded.meta_verify_tokens()) == [
        "acme-verify-token-1",
        "env-verify-token-1",
        "env-verify-token-1",
    ]


def test_env_only_single_workspace_takes_every_number(tmp_path: Path) -> None:
    loaded = load_workspaces(
        settings(tmp_path, None, api_keys="solo=k", kapso_webhook_secret="solo-kapso-secret")
    )
    assert loaded.single is not None
    assert loaded.single.name == "solo"
    assert loaded.for_phone_number_id("anything") == "solo"
    assert loaded.for_phone_number_id(None) == "solo"
    assert loaded.kapso_secrets() == [("solo", "solo-kapso-secret")]


def test_no_config_no_workspaces(tmp_path: Path) -> None:
    assert load_workspaces(settings(tmp_path)).by_name == {}


def test_region_comes_from_the_toml(tmp_path: Path) -> None:
    loaded = load_workspaces(settings(tmp_path, 'default_region = "GB"\n[workspaces.a]\n'))
    assert loaded.default_region == "GB"
    assert list(loaded.by_name) == ["a"]


@pytest.mark.parametrize("pairs", ["acme", "acme=", "=key", "acme=k,broken"])
def test_malformed_env_api_keys_are_refused(tmp_path: Path, pairs: str) -> None:
    with pytest.raises(ConfigError):
        load_workspaces(settings(tmp_path, None, api_keys=pairs))


@pytest.mark.parametrize("toml", ["[workspaces\n", "[workspaces]\nacme = 3\n"])
def test_malformed_toml_is_refused(tmp_path: Path, toml: str) -> None:
    with pytest.raises(ConfigError):
        load_workspaces(settings(tmp_path, toml))


def test_workspaces_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_workspaces(settings(tmp_path, "workspaces = 3\n"))
