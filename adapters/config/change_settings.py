"""Settings of the change feed's stream and outbound webhooks (prefix LEADLEDGER_), kept
apart from the process settings so each concern reads its own (docs/changes.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.config.errors import ConfigError

# Seconds after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h, 48 h; the
# next failure after the last one disables the subscription (about 3.7 days in all).
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 86400.0, 172800.0)


class ChangeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADLEDGER_", extra="ignore")

    sse_heartbeat: float = Field(
        default=15.0, gt=0, le=300, description="Seconds between SSE comment lines."
    )
    changes_poll: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds a stream or the dispatcher waits for a wake-up before reading "
        "the feed anyway (another process may have written it).",
    )
    webhook_dispatch: bool = Field(
        default=True, description="Deliver outbound webhooks from this process."
    )
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        default=DEFAULT_RETRY_SCHEDULE,
        description="Comma-separated seconds to wait after each failed attempt.",
    )
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    webhook_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a process holds a subscription; a killed one's lease expires.",
    )
    webhook_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Hosts, IPs or CIDRs a receiver may resolve to despite being loopback, "
        "private, link-local or metadata addresses (comma-separated).",
    )

    @field_validator("webhook_retry_schedule", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value


def load_change_settings() -> ChangeSettings:
    """ChangeSettings() with a one-line error naming each bad variable, as load_settings."""
    try:
        return ChangeSettings()
    except ValidationError as exc:
        raise ConfigError(
            "; ".join(
                f"LEADLEDGER_{str(e['loc'][0]).upper() if e['loc'] else '?'}="
                f"{e['input']!r}: {e['msg']}"
                for e in exc.errors()
            )
        ) from None
