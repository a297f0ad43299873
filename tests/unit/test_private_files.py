"""Private files and directories whatever the umask: created 0600/0700 from the start,
tightened when leadledger's own, and directories the operator made left alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.config.private_files import (
    open_private,
    private_dir,
    private_file,
    tighten_existing,
    write_private,
)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_directories_are_0700_and_existing_ones_are_left(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # the operator's choice
    private_dir(tmp_path / "a" / "b")
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o700, 0o700)
    assert mode(tmp_path) == 0o755
    private_dir(tmp_path / "a" / "b")  # again: nothing to do
    assert mode(tmp_path / "a" / "b") == 0o700


def test_files_are_0600_from_creation_and_tightened_when_ours(tmp_path: Path) -> None:
    private_file(tmp_path / "new.db")
    write_private(tmp_path / "secret.toml", "x = 1\n")
    with open_private(tmp_path / "rejects.jsonl") as out:
        out.write("{}\n")
    old = tmp_path / "old.db"
    old.write_text("")
    old.chmod(0o644)  # made by an older version under umask 022
    private_file(old)
    loose = tmp_path / "old.db-wal"
    loose.write_text("")
    loose.chmod(0o666)
    tighten_existing([loose, tmp_path / "absent-shm"])
    found = {p.name: mode(p) for p in tmp_path.iterdir()}
    assert found == dict.fromkeys(
        ["new.db", "secret.toml", "rejects.jsonl", "old.db", "old.db-wal"], 0o600
    )
    assert (tmp_path / "secret.toml").read_text() == "x = 1\n"


def test_an_exclusive_write_never_replaces_a_file(tmp_path: Path) -> None:
    write_private(tmp_path / "key", "first\n", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(tmp_path / "key", "second\n", exclusive=True)
    assert (tmp_path / "key").read_text() == "first\n"
