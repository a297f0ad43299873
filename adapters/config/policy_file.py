"""Read a source-priority policy file (LEADLEDGER_POLICY_FILE, `--policy`), checked whole."""

from __future__ import annotations

from pathlib import Path

from adapters.config.errors import ConfigError
from domain.policy import PolicyError, load_policy


def read_policy_file(path: Path) -> str:
    """The file's text once it parses as a policy; ConfigError naming the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"policy file {path}: cannot read: {exc}") from None
    try:
        load_policy(text)
    except PolicyError as exc:
        raise ConfigError(f"policy file {path}: {exc}") from None
    return text
