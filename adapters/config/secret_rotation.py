"""Add and retire webhook signing secrets in the workspaces file, safely: under an
exclusive lock (two editors never interleave), with comments and layout kept (tomlkit),
checked by re-reading it as the server would, and written whole to a temporary file that
replaces the old one (a crash leaves the old file or the new one, never half of either).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from adapters.config.workspaces import ConfigError, _workspace_from_toml

# The kinds of secret and their lists in a workspace table (docs/configuration.md).
SECRET_LISTS = {
    "kapso": "kapso_webhook_secrets",
    "meta-app": "meta_app_secrets",
    "meta-verify": "meta_verify_tokens",
}
_SINGULAR = {name: name.removesuffix("s") for name in SECRET_LISTS.values()}


@dataclass(frozen=True)
class SecretChange:
    workspace: str
    kind: str
    secret: str
    remaining: int  # how many secrets of this kind the workspace has now


def add_secret(path: Path, workspace: str, kind: str, secret: str | None = None) -> SecretChange:
    """Append a secret (a new random one unless given) to the workspace's list."""
    new = secret or (secrets.token_urlsafe(24) if kind == "meta-verify" else secrets.token_hex(32))
    with _editing(path) as doc:
        values = _secrets(doc, workspace, kind)
        if new in values:
            raise ConfigError(f"workspaces.{workspace}: that {kind} secret is already there")
        values.append(new)
        return SecretChange(workspace, kind, new, len(values))


def retire_secret(path: Path, workspace: str, kind: str, secret: str) -> SecretChange:
    """Remove one secret; the last one of a kind stays (a workspace must verify something)."""
    with _editing(path) as doc:
        values = _secrets(doc, workspace, kind)
        if secret not in values:
            raise ConfigError(f"workspaces.{workspace}: no such {kind} secret")
        if len(values) == 1:
            raise ConfigError(f"workspaces.{workspace}: add a new {kind} secret before retiring")
        values.remove(secret)
        return SecretChange(workspace, kind, secret, len(values))


def _secrets(doc: Any, workspace: str, kind: str) -> Any:
    if kind not in SECRET_LISTS:
        raise ConfigError(f"unknown secret kind {kind!r}; one of: {', '.join(SECRET_LISTS)}")
    tables = doc.get("workspaces")
    if tables is None or workspace not in tables:
        raise ConfigError(f"no workspace {workspace!r} in the config file")
    table, name = tables[workspace], SECRET_LISTS[kind]
    singular = table.get(_SINGULAR[name])
    if name not in table:  # a single value, or none yet: becomes the list
        table[name] = tomlkit.array()
        if isinstance(singular, str):
            table[name].append(singular)
    if singular is not None:
        del table[_SINGULAR[name]]  # one place only: the list
    return table[name]


@contextmanager
def _editing(path: Path) -> Iterator[Any]:
    if not path.exists():
        raise ConfigError(f"{path}: no config file")
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            doc = tomlkit.parse(path.read_text(encoding="utf-8"))
            yield doc
            text = tomlkit.dumps(doc)
            for name, raw in tomlkit.parse(text).unwrap().get("workspaces", {}).items():
                _workspace_from_toml(name, raw)  # what the server reads must still load
            _replace(path, text)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(path: Path, text: str) -> None:
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, path.stat().st_mode & 0o777)  # stays as private as it was
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
