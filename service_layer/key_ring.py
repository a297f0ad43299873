"""API keys and their principals: who a key is (authenticate) and the keys' lifecycle
(create, list, revoke, rotate). Keys declared in the config are principals too (`admin`
for `api_key_sha256` and LEADLEDGER_API_KEYS); they change only with the file.

A key's answer is cached for at most `CACHE_SECONDS`, in each process: a revocation or the
end of a rotation's grace period is refused by every running server within a second,
without a restart. A use is written at most once a minute per key (`last_used_at`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from adapters.config.workspaces import ConfiguredKey, Workspaces, hash_api_key
from adapters.principals.key_table import KeyTable, StoredKey
from domain.principal import Principal, Role

KEY_PREFIX = "llk_"
CACHE_SECONDS = 0.5
TOUCH_INTERVAL = timedelta(minutes=1)
_CACHE_LIMIT = 10_000


class ApiKeyError(ValueError):
    """A key lifecycle request that cannot be done as asked (nothing changed)."""


class ApiKeyNotFoundError(ApiKeyError, LookupError):
    """No such key (in this workspace, when one is given)."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret."""

    id: str
    workspace: str
    role: str
    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    replaced_by: str | None
    origin: str  # "database", "config" or "env"

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None:
            return "expired" if self.expires_at <= now else "grace"
        return "active"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the secret is shown once, here, and never stored."""

    secret: str
    key: KeyInfo


class KeyRing:
    def __init__(self, workspaces: Callable[[], Workspaces], table: KeyTable) -> None:
        self._workspaces = workspaces
        self._table = table
        self._cache: dict[str, tuple[float, StoredKey | None]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- who is calling -------------------------------------------------------------------

    def authenticate(self, secret: str) -> Principal | None:
        configured = self._workspaces().configured_key(secret)
        if configured is not None:
            workspace, declared = configured
            return Principal(workspace, Role(declared.role), declared.name, declared.key_id)
        digest = hash_api_key(secret)
        stored = self._stored(digest)
        now = datetime.now(UTC)
        if stored is None or not stored.valid_at(now):
            return None
        if stored.workspace not in self._workspaces().by_name:
            return None  # its workspace was removed from the config
        self._touch(stored.id)
        return Principal(stored.workspace, Role(stored.role), stored.name, stored.id)

    # -- lifecycle ------------------------------------------------------------------------

    def create(self, workspace: str, role: str, name: str) -> IssuedKey:
        if workspace not in self._workspaces().by_name:
            known = ", ".join(sorted(self._workspaces().by_name)) or "(none)"
            raise ApiKeyError(f"unknown workspace {workspace!r}; known: {known}")
        try:
            valid_role = Role(role)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ApiKeyError(f"unknown role {role!r}; one of: {roles}") from None
        if not name.strip() or len(name) > 200 or "\x00" in name:
            raise ApiKeyError("name must be 1 to 200 characters (no NUL)")
        key = StoredKey(_new_id(), workspace, valid_role.value, name.strip(), datetime.now(UTC))
        secret = _new_secret()
        self._table.add(key, hash_api_key(secret))
        return IssuedKey(secret, _info(key))

    def all_keys(self, workspace: str | None = None) -> list[KeyInfo]:
        declared = [
            _declared_info(ws.name, k)
            for ws in self._workspaces().by_name.values()
            if workspace in (None, ws.name)
            for k in ws.configured_keys()
        ]
        return declared + [_info(k) for k in self._table.all(workspace)]

    def revoke(self, key_id: str, workspace: str | None = None) -> KeyInfo:
        self._stored_by_id(key_id, workspace)
        self._table.revoke(key_id, datetime.now(UTC))
        return _info(self._stored_by_id(key_id))

    def rotate(self, key_id: str, grace: timedelta, workspace: str | None = None) -> IssuedKey:
        """A new key for the same principal; the old one works until `grace` has passed."""
        if grace < timedelta(0):
            raise ApiKeyError("the grace period cannot be negative")
        old = self._stored_by_id(key_id, workspace)
        now = datetime.now(UTC)
        if not old.valid_at(now) or old.expires_at is not None:
            raise ApiKeyError(f"key {key_id} is revoked, expired or already rotated")
        new = replace(old, id=_new_id(), created_at=now, last_used_at=None)
        secret = _new_secret()
        self._table.replace(old.id, new, hash_api_key(secret), now + grace)
        return IssuedKey(secret, _info(new))

    def close(self) -> None:
        self._table.close()

    # -------------------------------------------------------------------------------------

    def _stored_by_id(self, key_id: str, workspace: str | None = None) -> StoredKey:
        """The stored key; another workspace's is not found (its id says nothing)."""
        stored = self._table.by_id(key_id)
        if stored is not None and workspace in (None, stored.workspace):
            return stored
        if any(key_id == i.id for i in self.all_keys(workspace)):
            raise ApiKeyError(f"key {key_id}: in the config file: remove it there")
        raise ApiKeyNotFoundError(f"key {key_id}: not found")

    def _stored(self, digest: str) -> StoredKey | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        stored = self._table.by_secret(digest)
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # unknown keys tried in bulk must not grow it for ever
            self._cache[digest] = (now, stored)
        return stored

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < TOUCH_INTERVAL.total_seconds():
                return
            self._touched[key_id] = now
        self._table.touch(key_id, datetime.now(UTC), TOUCH_INTERVAL)


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _new_id() -> str:
    return "key_" + secrets.token_hex(6)


def _info(key: StoredKey) -> KeyInfo:
    return KeyInfo(
        key.id,
        key.workspace,
        key.role,
        key.name,
        key.created_at,
        key.last_used_at,
        key.revoked_at,
        key.expires_at,
        key.replaced_by,
        "database",
    )


def _declared_info(workspace: str, key: ConfiguredKey) -> KeyInfo:
    return KeyInfo(
        key.key_id, workspace, key.role, key.name, None, None, None, None, None, key.origin
    )
