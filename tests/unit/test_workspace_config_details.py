"""Workspace config details: fallbacks, singular spellings, unquoted numbers, base64 API keys
and the exact error messages an operator reads at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config.settings import Settings
from adapters.config.workspaces import ConfigError, load_workspaces


def settings(tmp_path: Path, toml: str | None = None, **values: object) -> Settings:
    config = tmp_path / "leadledger.toml"
    if toml is not None:
        config.write_text(toml, encoding="utf-8")
    return Settings(config_file=config, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("toml", [None, "[workspaces.a]\n"])
def test_region_falls_back_to_the_settings(tmp_path: Path, toml: str | None) -> None:
    assert load_workspaces(settings(tmp_path, toml, default_region="SG")).default_region == "SG"


def test_a_file_without_workspaces_leaves_them_to_the_environment(tmp_path: Path) -> None:
    loaded = load_workspaces(settings(tmp_path, 'default_region = "SG"\n', api_keys="solo=k"))
    assert list(loaded.by_name) == ["solo"]
    assert loaded.default_region == "SG"


def test_env_meta_app_secret_applies_to_every_workspace(tmp_path: Path) -> None:
    toml = "[workspaces.a]\n[workspaces.b]\n"
    loaded = load_workspaces(
        settings(tmp_path, toml, meta_app_secret="meta-app-secret-old, meta-app-secret-new")
    )
    assert sorted(loaded.meta_secrets()) == [
        ("a", "meta-app-secret-new"),
        ("a", "meta-app-secret-old"),
        ("b", "meta-app-secret-new"),
        ("b", "meta-app-secret-old"),
    ]


def test_a_single_meta_verify_token_may_be_spelled_singular(tmp_path: Path) -> None:
    loaded = load_workspaces(
        settings(tmp_path, '[workspaces.a]\nmeta_verify_token = "verify-token-of-a"\n')
    )
    assert loaded.meta_verify_tokens() == ["verify-token-of-a"]


def test_an_unquoted_phone_number_id_still_routes(tmp_path: Path) -> None:
    toml = "[workspaces.a]\nphone_number_ids = 109876543210987\n[workspaces.b]\n"
    loaded = load_workspaces(settings(tmp_path, toml))
    assert loaded.for_phone_number_id("109876543210987") == "a"


def test_env_api_keys_may_contain_equals_signs(tmp_path: Path) -> None:
    loaded = load_workspaces(settings(tmp_path, None, api_keys="acme=c2VjcmV0==,b=x"))
    assert loaded.for_api_key("c2VjcmV0==") == "acme"


def refusal(tmp_path: Path, toml: str | None = None, **values: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_workspaces(settings(tmp_path, toml, **values))
    return str(caught.value)


def test_config_errors_say_where_and_what(tmp_path: Path) -> None:
    config = tmp_path / "leadledger.toml"
    assert refusal(tmp_path, "workspaces = 3\n") == (
        f"{config}: 'workspaces' must be a table of tables"
    )
    assert refusal(tmp_path, "[workspaces]\nacme = 3\n") == (
        f"{config}: workspaces.acme must be a table"
    )
    assert refusal(tmp_path, "[workspaces\n").startswith(f"{config}: ")
    assert refusal(tmp_path / "no-file", None, api_keys="acme") == (
        "LEADLEDGER_API_KEYS must be workspace=key[,workspace=key]"
    )
