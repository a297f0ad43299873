"""Process settings from the environment (prefix LEADLEDGER_), with sane defaults.

Entrypoints build them with `adapters.config.loading.load_settings`, which also derives the
paths from the data directory and refuses mistakes; `Settings(...)` is for code and tests."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
CONFIG_FILE_NAME = "leadledger.toml"
LEDGER_FILE_NAME = "leadledger.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADLEDGER_", extra="ignore")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Where the SQLite ledger and the first-run config live.",
    )
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR}/{LEDGER_FILE_NAME}",
        description="sqlite:///path, postgresql://user@host:port/db, or memory://",
    )
    views_database_url: str | None = Field(
        default=None, description="Read models; defaults to a sibling of database_url."
    )
    config_file: Path = Field(default=DEFAULT_DATA_DIR / CONFIG_FILE_NAME)
    # Comma-separated lists allow two secrets at once during a rotation.
    kapso_webhook_secret: SecretStr | None = None
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    master_key: SecretStr | None = Field(
        default=None,
        description="The master key wrapping every lead key: 32 bytes, base64 or 64 hex digits "
        "(default: a key file created on first start, see master_key_file).",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="The master key file (mode 0600), when master_key is not set; default "
        "leadledger.master.key beside the SQLite ledger, or in data_dir for PostgreSQL.",
    )
    new_master_key: SecretStr | None = Field(
        default=None, description="`leadledger keys rotate-master`: the key to rotate to."
    )
    api_keys: SecretStr | None = Field(default=None, description="workspace=key,workspace=key")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the dashboard's session cookie; unset: random per process "
        "(set it with workers > 1, or to keep sessions across restarts).",
    )
    default_region: str = "ID"
    max_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    policy_file: Path | None = None
    log_level: str = "info"
    follow: bool = Field(
        default=True,
        description="Keep the read models live in this process "
        "(turn off when a separate `leadledger projections follow` runs).",
    )
    ingest_timeout: float = Field(
        default=8.0, gt=0, description="Seconds a webhook may wait for its commit before 503."
    )
    poll_interval: float = Field(default=0.5, gt=0, le=60)
    projection_partitions: int = Field(
        default=1,
        ge=1,
        le=999,
        description="Split the live views' work by lead-id hash into this many partitions, "
        "each with its own position, so several processes apply them side by side.",
    )
    ready_max_lag: int = Field(
        default=10_000,
        ge=0,
        description="GET /readyz answers 503 once the views lag the ledger by more events.",
    )
    metrics_textfile: Path | None = Field(
        default=None,
        description="Where `leadledger projections rebuild` writes its progress gauge "
        "(Prometheus textfile format, for node_exporter's textfile collector).",
    )
