"""First run: write a local config with random secrets, so no endpoint is ever open. Its
admin API key is created in the database by the caller (`leadledger serve`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CreatedConfig:
    path: Path
    workspace: str
    kapso_webhook_secret: str
    meta_app_secret: str
    meta_verify_token: str


def create_local_config(path: Path, workspace: str = "default") -> CreatedConfig:
    """Write a one-workspace config: its webhook secrets, no API key."""
    created = CreatedConfig(
        path=path,
        workspace=workspace,
        kapso_webhook_secret=secrets.token_hex(32),
        meta_app_secret=secrets.token_hex(32),
        meta_verify_token=secrets.token_urlsafe(24),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# leadledger local config, created on first run. Keep it private.\n"
        'default_region = "ID"\n\n'
        f"[workspaces.{workspace}]\n"
        f'kapso_webhook_secrets = ["{created.kapso_webhook_secret}"]\n'
        f'meta_app_secrets = ["{created.meta_app_secret}"]\n'
        f'meta_verify_tokens = ["{created.meta_verify_token}"]\n'
        "phone_number_ids = []\n"
    )
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return created
