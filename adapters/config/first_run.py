"""First run: write a local config with random secrets, so no endpoint is ever open."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from adapters.config.workspaces import hash_api_key


@dataclass(frozen=True)
class CreatedConfig:
    path: Path
    workspace: str
    api_key: str
    kapso_webhook_secret: str
    meta_app_secret: str
    meta_verify_token: str


def create_local_config(path: Path, workspace: str = "default") -> CreatedConfig:
    """Write a one-workspace config; the API key is stored only as its SHA-256. Never over
    an existing file (its secrets are in use), and private (0600) from the first byte."""
    created = CreatedConfig(
        path=path,
        workspace=workspace,
        api_key=secrets.token_urlsafe(32),
        kapso_webhook_secret=secrets.token_hex(32),
        meta_app_secret=secrets.token_hex(32),
        meta_verify_token=secrets.token_urlsafe(24),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# leadledger local config, created on first run. Keep it private.\n"
        'data_dir = "."  # the ledger\'s directory, relative to this file\n'
        'default_region = "ID"\n\n'
        f"[workspaces.{workspace}]\n"
        f'api_key_sha256 = ["{hash_api_key(created.api_key)}"]\n'
        f'kapso_webhook_secrets = ["{created.kapso_webhook_secret}"]\n'
        f'meta_app_secrets = ["{created.meta_app_secret}"]\n'
        f'meta_verify_tokens = ["{created.meta_verify_token}"]\n'
        "phone_number_ids = []\n"
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return created
