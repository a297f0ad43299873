"""Workspaces: who may call (API keys declared in the config; most keys live in the
database, adapters/principals/), which secrets sign their webhooks, which WhatsApp numbers
(phone_number_id) belong to them. Built from the TOML config file and the env.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.config.errors import ConfigError
from adapters.config.secret_rules import checked_secrets
from adapters.config.settings import Settings
from adapters.config.toml_file import read_toml
from domain.principal import Role

ROLES = tuple(role.value for role in Role)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ConfiguredKey:
    """An API key declared in the config: `api_key_sha256`/`api_keys` and
    LEADLEDGER_API_KEYS are `admin` keys named "admin"; `[[workspaces.W.keys]]` tables
    declare a role and a name. Its id is derived from the hash (never the key)."""

    sha256: str
    role: str = "admin"
    name: str = "admin"
    origin: str = "config"  # "config" (the TOML file) or "env" (LEADLEDGER_API_KEYS)

    @property
    def key_id(self) -> str:
        return f"{self.origin}:{self.sha256[:12]}"


@dataclass
class Workspace:
    name: str
    api_key_hashes: list[str] = field(default_factory=list)  # admin keys
    role_keys: list[ConfiguredKey] = field(default_factory=list)
    kapso_secrets: list[str] = field(default_factory=list)
    meta_app_secrets: list[str] = field(default_factory=list)
    meta_verify_tokens: list[str] = field(default_factory=list)
    phone_number_ids: list[str] = field(default_factory=list)
    env_key_hashes: list[str] = field(default_factory=list)  # LEADLEDGER_API_KEYS (admin)

    def configured_keys(self) -> list[ConfiguredKey]:
        return [
            *(ConfiguredKey(h, origin="env") for h in self.env_key_hashes),
            *(ConfiguredKey(h) for h in self.api_key_hashes if h not in self.env_key_hashes),
            *self.role_keys,
        ]


@dataclass
class Workspaces:
    by_name: dict[str, Workspace]
    default_region: str = "ID"

    @property
    def single(self) -> Workspace | None:
        """With exactly one workspace, every webhook belongs to it."""
        return next(iter(self.by_name.values())) if len(self.by_name) == 1 else None

    def for_api_key(self, key: str) -> str | None:
        """The workspace of an API key, compared in constant time against every hash."""
        digest = hash_api_key(key)
        found: str | None = None
        for ws in self.by_name.values():
            for known in ws.api_key_hashes:
                if hmac.compare_digest(digest, known):
                    found = ws.name
        return found

    def configured_key(self, key: str) -> tuple[str, ConfiguredKey] | None:
        """The workspace and declaration of a config key, compared in constant time."""
        digest = hash_api_key(key)
        found: tuple[str, ConfiguredKey] | None = None
        for ws in self.by_name.values():
            for known in ws.configured_keys():
                if hmac.compare_digest(digest, known.sha256):
                    found = (ws.name, known)
        return found

    def for_phone_number_id(self, phone_number_id: str | None) -> str | None:
        for ws in self.by_name.values():
            if phone_number_id is not None and phone_number_id in ws.phone_number_ids:
                return ws.name
        single = self.single
        return single.name if single else None

    def kapso_secrets(self) -> list[tuple[str, str]]:
        return [(ws.name, s) for ws in self.by_name.values() for s in ws.kapso_secrets]

    def meta_secrets(self) -> list[tuple[str, str]]:
        return [(ws.name, s) for ws in self.by_name.values() for s in ws.meta_app_secrets]

    def meta_verify_tokens(self) -> list[str]:
        return [t for ws in self.by_name.values() for t in ws.meta_verify_tokens]


def load_workspaces(settings: Settings) -> Workspaces:
    """Merge the TOML file (several workspaces) with env settings (global secrets, keys)."""
    by_name: dict[str, Workspace] = {}
    region = settings.default_region
    if settings.config_file.exists():
        doc = read_toml(settings.config_file)
        region = str(doc.get("default_region", region))
        tables = doc.get("workspaces", {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{settings.config_file}: 'workspaces' must be a table of tables")
        for name, raw in tables.items():
            if not isinstance(raw, dict):
                raise ConfigError(f"{settings.config_file}: workspaces.{name} must be a table")
            by_name[name] = _workspace_from_toml(name, raw)
    if settings.api_keys is not None:
        for name, key in _parse_pairs(settings.api_keys.get_secret_value()):
            ws = by_name.setdefault(name, Workspace(name))
            ws.api_key_hashes.append(hash_api_key(key))
            ws.env_key_hashes.append(hash_api_key(key))
    # Env secrets apply to every workspace (the common single-workspace set-up).
    kapso = _env_secrets(settings.kapso_webhook_secret, "LEADLEDGER_KAPSO_WEBHOOK_SECRET")
    meta = _env_secrets(settings.meta_app_secret, "LEADLEDGER_META_APP_SECRET")
    tokens = _env_secrets(settings.meta_verify_token, "LEADLEDGER_META_VERIFY_TOKEN")
    for ws in by_name.values():
        ws.kapso_secrets += kapso
        ws.meta_app_secrets += meta
        ws.meta_verify_tokens += tokens
    return Workspaces(by_name=by_name, default_region=region)


def _workspace_from_toml(name: str, raw: dict[str, Any]) -> Workspace:
    keys = _as_list(raw.get("api_key_sha256")) + [
        hash_api_key(k) for k in _as_list(raw.get("api_keys"))
    ]
    return Workspace(
        name=name,
        api_key_hashes=keys,
        kapso_secrets=_toml_secrets(name, raw, "kapso_webhook_secret"),
        meta_app_secrets=_toml_secrets(name, raw, "meta_app_secret"),
        meta_verify_tokens=_toml_secrets(name, raw, "meta_verify_token"),
        phone_number_ids=_as_list(raw.get("phone_number_ids")),
        role_keys=[_role_key(name, i, k) for i, k in enumerate(_tables(name, raw.get("keys")))],
    )


def _toml_secrets(workspace: str, raw: dict[str, Any], singular: str) -> list[str]:
    """The list (`<key>s`) or the single value (`<key>`), each checked where it was written."""
    key = f"{singular}s" if f"{singular}s" in raw else singular
    return checked_secrets(_as_list(raw.get(key)), f"workspaces.{workspace}.{key}")


def _env_secrets(value: Any, variable: str) -> list[str]:
    return checked_secrets(_split(value), variable)


def _tables(name: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"workspaces.{name}.keys must be an array of tables ([[...]])")
    return value


def _role_key(workspace: str, index: int, raw: dict[str, Any]) -> ConfiguredKey:
    where = f"workspaces.{workspace}.keys[{index}]"
    role, key_name = raw.get("role"), raw.get("name")
    if role not in ROLES or not isinstance(key_name, str) or not key_name.strip():
        raise ConfigError(f"{where}: needs role (one of {', '.join(ROLES)}) and name")
    digest = raw.get("sha256")
    if digest is None and isinstance(raw.get("key"), str):
        digest = hash_api_key(raw["key"])
    if not isinstance(digest, str) or len(digest) != 64:
        raise ConfigError(f"{where}: needs sha256 (hex of the key) or key")
    return ConfiguredKey(digest.lower(), role, key_name.strip())


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _split(secret: Any) -> list[str]:
    if secret is None:
        return []
    return [s.strip() for s in secret.get_secret_value().split(",") if s.strip()]


def _parse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        name, sep, key = item.strip().partition("=")
        if not sep or not name.strip() or not key.strip():
            raise ConfigError("LEADLEDGER_API_KEYS must be workspace=key[,workspace=key]")
        pairs.append((name.strip(), key.strip()))
    return pairs


__all__ = ["ConfigError", "Workspace", "Workspaces", "hash_api_key", "load_workspaces"]
