"""Files and directories private to the service's user, whatever the umask.

Everything leadledger keeps on disk holds personal data or secrets (phones and names in
the ledger and the views, keys, API key hashes), so each file it creates is 0600 and each
directory it creates 0700. The mode is given at creation (no window where another user
could open the file) and set again afterwards, since a umask can only take bits away.
SQLite creates its -wal and -shm files with the mode of the database file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents as 0700; directories that exist are left
    as they are (the operator chose them)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by another process of this start
        directory.chmod(DIR_MODE)


def private_file(path: Path) -> None:
    """Create `path` empty as 0600 if missing; tighten it to 0600 if it is ours already
    (a file an older version created under the umask)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, text: str, exclusive: bool = False) -> None:
    """Write `text` to `path` as 0600 (FileExistsError when `exclusive` and it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def open_private(path: Path) -> IO[str]:
    """A text file written from scratch, 0600 (import rejects hold people's rows)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8")


def sqlite_files(database: Path) -> list[Path]:
    """A SQLite database and the journal files SQLite keeps beside it."""
    return [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]


def tighten_existing(paths: list[Path]) -> None:
    """Make the files among `paths` that exist and are ours 0600."""
    for path in paths:
        try:
            if path.stat().st_uid == os.geteuid():
                path.chmod(FILE_MODE)
        except FileNotFoundError:
            continue
