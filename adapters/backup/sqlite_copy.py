"""Consistent copies of live SQLite databases, through SQLite's online backup API."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

_HEADER = b"SQLite format 3\x00"
# Beside a database while it is open, or the locks of leadledger's start-up and of the
# running server: never copied (the backup API reads the WAL's committed pages itself).
SIDECARS = ("-wal", "-shm", "-journal", ".startup.lock", ".server.lock")


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_HEADER)) == _HEADER


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(SIDECARS)


def copy_live(source: Path, target: Path) -> None:
    """Copy `source` while other processes read and write it: one backup step, so the copy
    is the database as of one committed transaction (writers keep going in WAL mode)."""
    # Read-only: a backup never creates or changes the database it copies.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def copy_file(source: Path, target: Path) -> None:
    """A plain file (config, key material): copied with its permission bits."""
    shutil.copy2(source, target)
    os.chmod(target, 0o600)
