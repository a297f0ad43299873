"""Where the master key comes from, opening the key store under it, and rotating it.

`LEADLEDGER_MASTER_KEY` wins; else the key file (`LEADLEDGER_MASTER_KEY_FILE`, by default
`leadledger.master.key` beside the SQLite ledger, or in the data directory for PostgreSQL),
created on first start; `memory://` uses a throwaway key. Opening the store wraps any bare lead key
left from before envelope encryption, and finishes a rotation a crash interrupted.

A rotation with the key file writes the new key to `<key file>.next` first, re-wraps every
lead key under it in one transaction, then renames it over the key file: a crash at any
point leaves either nothing done or a `.next` file the next start finishes with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.keys.backend_for_url import key_backend_for
from adapters.keys.key_store import KeyStore
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import (
    KEY_FILE_NAME,
    MasterKey,
    MasterKeyError,
    key_file,
    read_key_file,
    sync_dir,
    write_key_file,
)


@dataclass(frozen=True)
class MasterKeySource:
    given: MasterKey | None = None  # LEADLEDGER_MASTER_KEY
    file: Path | None = None  # used when no key is given; neither: a throwaway key

    @classmethod
    def for_settings(cls, settings: Settings, url: DatabaseURL) -> MasterKeySource:
        if settings.master_key is not None:
            secret = settings.master_key.get_secret_value()
            return cls(given=MasterKey.parse(secret, "LEADLEDGER_MASTER_KEY"))
        if settings.master_key_file is not None:
            return cls(file=settings.master_key_file)
        if url.kind == "sqlite":
            assert url.path is not None
            return cls(file=url.path.parent / KEY_FILE_NAME)
        if url.kind == "postgres":
            return cls(file=settings.data_dir / KEY_FILE_NAME)
        return cls()

    @property
    def pending_file(self) -> Path | None:
        """Where a rotation keeps its new key until every lead key is wrapped under it."""
        return None if self.file is None else self.file.with_name(self.file.name + ".next")

    def load(self) -> MasterKey:
        if self.given is not None:
            return self.given
        if self.file is not None:
            return key_file(self.file)
        return MasterKey.generate()

    def keyring(self) -> Keyring:
        file = self.file
        reload = (lambda: read_key_file(file)) if file is not None and not self.given else None
        return Keyring(self.load(), reload)


def open_key_store(url: DatabaseURL, source: MasterKeySource) -> KeyStore:
    """The lead keys of `url`, every one wrapped under the current master key."""
    keys = KeyStore(key_backend_for(url), source.keyring())
    try:
        pending = source.pending_file
        if source.given is None and pending is not None and pending.exists():
            _finish_rotation(keys, source, read_key_file(pending))
        else:
            keys.wrap_all_under(keys.keyring.current)  # bare keys of an older version
    except BaseException:
        keys.close()
        raise
    return keys


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    rewrapped: int
    key_file: Path | None  # None: the operator must now set LEADLEDGER_MASTER_KEY


def rotate_master_key(
    keys: KeyStore, source: MasterKeySource, new: MasterKey | None = None
) -> Rotation:
    """Re-wrap every lead key under a new master key (`new`, else a fresh one when the key
    comes from the key file). Events are untouched. With LEADLEDGER_MASTER_KEY, the new
    key must be given, and the operator switches the variable afterwards."""
    old = keys.keyring.current
    if source.given is not None or source.file is None:
        if new is None:
            raise MasterKeyError(
                "the master key comes from LEADLEDGER_MASTER_KEY: give the new one in "
                "LEADLEDGER_NEW_MASTER_KEY"
            )
        if new.key_id == old.key_id:
            raise MasterKeyError("the new master key is the current one")
        count = keys.wrap_all_under(new)
        return Rotation(old.key_id, new.key_id, count, None)
    pending = source.pending_file
    assert pending is not None
    if not pending.exists():  # else a rotation was interrupted: finish it with its key
        write_key_file(pending, new or MasterKey.generate())
    chosen = read_key_file(pending)
    if chosen.key_id == old.key_id:
        pending.unlink()
        raise MasterKeyError("the new master key is the current one")
    count = _finish_rotation(keys, source, chosen)
    return Rotation(old.key_id, chosen.key_id, count, source.file)


def _finish_rotation(keys: KeyStore, source: MasterKeySource, new: MasterKey) -> int:
    assert source.file is not None
    assert source.pending_file is not None
    count = keys.wrap_all_under(new)
    os.replace(source.pending_file, source.file)
    sync_dir(source.file.parent)
    return count
