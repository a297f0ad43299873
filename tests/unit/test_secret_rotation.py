"""`leadledger keys webhook-secret`: the workspaces file is edited in place, comments kept;
a request that cannot be done leaves the file byte for byte as it was."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.config.secret_rotation import add_secret, retire_secret
from adapters.config.workspaces import ConfigError
from tests.support import KAPSO_SECRET, META_VERIFY_TOKEN, WORKSPACE, workspaces_toml


def config(tmp_path: Path) -> Path:
    path = tmp_path / "workspaces.toml"
    path.write_text("# keep me\n" + workspaces_toml(), encoding="utf-8")
    path.chmod(0o600)
    return path


def secrets_of(path: Path, name: str) -> list[str]:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    return list(doc["workspaces"][WORKSPACE][name])


def test_add_then_retire_keeps_comments_and_mode(tmp_path: Path) -> None:
    path = config(tmp_path)
    added = add_secret(path, WORKSPACE, "kapso")
    assert secrets_of(path, "kapso_webhook_secrets") == [KAPSO_SECRET, added.secret]
    retire_secret(path, WORKSPACE, "kapso", KAPSO_SECRET)
    assert secrets_of(path, "kapso_webhook_secrets") == [added.secret]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# keep me\n")
    assert "[[workspaces.acme.keys]]" in text  # the rest is untouched
    assert path.stat().st_mode & 0o777 == 0o600
    token = add_secret(path, WORKSPACE, "meta-verify", "given-verify-token-1")
    assert secrets_of(path, "meta_verify_tokens") == [META_VERIFY_TOKEN, token.secret]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: add_secret(p, "nowhere", "kapso"), "no workspace"),
        (lambda p: add_secret(p, WORKSPACE, "telegram"), "unknown secret kind"),
        (lambda p: add_secret(p, WORKSPACE, "kapso", KAPSO_SECRET), "already there"),
        (lambda p: retire_secret(p, WORKSPACE, "kapso", "not-there"), "no such"),
        (lambda p: retire_secret(p, WORKSPACE, "kapso", KAPSO_SECRET), "before retiring"),
    ],
)
def test_refusals_change_nothing(
    tmp_path: Path, call: Callable[[Path], object], message: str
) -> None:
    path = config(tmp_path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=message):
        call(path)
    assert path.read_bytes() == before
