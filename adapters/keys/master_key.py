"""The master key that wraps every lead key (envelope encryption, docs/security.md).

It comes from `LEADLEDGER_MASTER_KEY` (32 bytes as base64 or hex) or from a key file,
created on first start with mode 0600 (`leadledger.master.key` in the data directory, or
`LEADLEDGER_MASTER_KEY_FILE`). The keys database holds only wrapped lead keys, so a copy of
it alone decrypts nothing; the key file must be backed up apart from it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from adapters.config.errors import ConfigError
from adapters.config.private_files import private_dir, tighten_existing, write_private

MASTER_KEY_BYTES = 32
KEY_FILE_NAME = "leadledger.master.key"


class MasterKeyError(ConfigError):
    """A master key that cannot be read, or that does not open a wrapped lead key (the CLI
    shows it as one line)."""


@dataclass(frozen=True)
class MasterKey:
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != MASTER_KEY_BYTES:
            raise MasterKeyError(
                f"a master key is {MASTER_KEY_BYTES} bytes, this one {len(self.secret)}"
            )

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(MASTER_KEY_BYTES))

    @classmethod
    def parse(cls, text: str, origin: str) -> MasterKey:
        """32 bytes written as 64 hex digits or as base64 (standard or URL-safe)."""
        value = text.strip()
        try:
            if len(value) == 2 * MASTER_KEY_BYTES:
                raw = bytes.fromhex(value)
            else:
                raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (ValueError, binascii.Error):
            raise MasterKeyError(
                f"{origin}: not a master key (64 hex digits or base64 of 32 bytes)"
            ) from None
        try:
            return cls(raw)
        except MasterKeyError as exc:
            raise MasterKeyError(f"{origin}: {exc}") from None

    @property
    def key_id(self) -> str:
        """Names the key in each wrapped row (which key wraps it) without revealing it."""
        mac = hmac.new(self.secret, b"leadledger master key id", hashlib.sha256)
        return mac.hexdigest()[:16]

    def wrap(self, lead_key: bytes) -> bytes:
        return aes_key_wrap(self.secret, lead_key)  # RFC 3394: authenticated, 40 bytes

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self.secret, wrapped)
        except (InvalidUnwrap, ValueError):
            raise MasterKeyError(
                f"a lead key does not unwrap under master key {self.key_id}"
            ) from None

    def text(self) -> str:
        return base64.b64encode(self.secret).decode()


def read_key_file(path: Path) -> MasterKey:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"cannot read the master key file {path}: {exc}") from None
    return MasterKey.parse(text, str(path))


def key_file(path: Path) -> MasterKey:
    """The key in `path`, created (mode 0600, never overwritten) if there is none yet."""
    if path.exists():
        tighten_existing([path])
        return read_key_file(path)
    private_dir(path.parent)
    # Written whole, then linked into place: a process starting at the same moment sees
    # no file or the whole key, never half of it, and the first link wins.
    partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
    write_private(partial, MasterKey.generate().text() + "\n", exclusive=True)
    try:
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(partial, path)
    finally:
        partial.unlink()
    sync_dir(path.parent)
    return read_key_file(path)


def write_key_file(path: Path, key: MasterKey) -> None:
    """Write `key` to `path` (mode 0600), replacing it in one rename."""
    private_dir(path.parent)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    write_private(partial, key.text() + "\n", exclusive=True)
    os.replace(partial, path)
    sync_dir(path.parent)


def sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
