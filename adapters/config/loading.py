"""The settings an entrypoint runs with: the environment, then the paths derived from the
data directory, checked before anything is created.

- An explicit config file (LEADLEDGER_CONFIG_FILE or `--config`) must exist: a typo must
  not start a new workspace with new secrets. Only the default path may be missing.
- The data directory is LEADLEDGER_DATA_DIR, else the config file's `data_dir` (relative
  to the file), else `data` under the working directory. The default config file and the
  SQLite ledger live in it unless LEADLEDGER_CONFIG_FILE / LEADLEDGER_DATABASE_URL say
  otherwise.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from adapters.config.errors import ConfigError
from adapters.config.settings import CONFIG_FILE_NAME, LEDGER_FILE_NAME, Settings
from adapters.config.toml_file import read_toml

ENV_PREFIX = "LEADLEDGER_"
# Fields whose values must never be echoed back in an error message.
SECRET_FIELDS = frozenset(
    {"kapso_webhook_secret", "meta_app_secret", "meta_verify_token", "api_keys"}
)


def load_settings(restoring: bool = False) -> Settings:
    """`restoring`: for `leadledger restore`, which writes the config file it is named."""
    env = settings_from_env()
    given = env.model_fields_set
    explicit_config = "config_file" in given
    config_file = env.config_file if explicit_config else env.data_dir / CONFIG_FILE_NAME
    if (
        explicit_config
        and not config_file.is_file()
        and not (restoring and not config_file.exists())
    ):
        what = "is not a file" if config_file.exists() else "does not exist"
        raise ConfigError(
            f"config file {config_file} {what} (named by LEADLEDGER_CONFIG_FILE or --config); "
            "fix the path, or unset it to use the data directory's"
        )
    data_dir = env.data_dir
    if "data_dir" not in given and config_file.is_file():
        data_dir = data_dir_in(config_file) or data_dir
    update: dict[str, object] = {"data_dir": data_dir, "config_file": config_file}
    if "database_url" not in given:
        update["database_url"] = f"sqlite:///{data_dir / LEDGER_FILE_NAME}"
    return env.model_copy(update=update)


def settings_from_env() -> Settings:
    """Settings() with a one-line error naming each bad variable (values of secrets left out)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe(error) for error in exc.errors())) from None


def data_dir_in(config_file: Path) -> Path | None:
    value = read_toml(config_file).get("data_dir")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{config_file}: data_dir must be a non-empty string (a directory)")
    return config_file.parent / value


def _describe(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else "?"
    name = ENV_PREFIX + field.upper()
    if field in SECRET_FIELDS:
        return f"{name}: {error['msg']}"
    return f"{name}={error['input']!r}: {error['msg']}"
