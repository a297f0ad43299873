"""`manifest.json`, the last file a backup writes: what each file is, its SHA-256, and
when the copy was taken. A directory without it is not a backup (an interrupted one)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Exception):
    """A backup or restore refused: the message says why; nothing was changed."""


@dataclass(frozen=True)
class BackedUpFile:
    name: str  # inside the backup directory
    role: str  # ledger | keys | views | config | file | pg_dump
    sha256: str


@dataclass(frozen=True)
class Manifest:
    database: str  # "sqlite" | "postgres"
    taken_at: datetime
    ledger_name: str  # the ledger's file name (SQLite) or the schema (PostgreSQL)
    files: list[BackedUpFile] = field(default_factory=list)

    def of_role(self, role: str) -> list[BackedUpFile]:
        return [f for f in self.files if f.role == role]

    def write(self, directory: Path) -> None:
        data = asdict(self) | {"format": FORMAT, "taken_at": self.taken_at.isoformat()}
        (directory / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """The manifest of a complete backup, every file present with its checksum."""
        path = directory / MANIFEST
        if not path.is_file():
            raise BackupError(f"{directory} is not a leadledger backup (no {MANIFEST})")
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise BackupError(f"{path}: unknown backup format {data.get('format')!r}")
            manifest = cls(
                database=data["database"],
                taken_at=datetime.fromisoformat(data["taken_at"]),
                ledger_name=data["ledger_name"],
                files=[BackedUpFile(**f) for f in data["files"]],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{path} is damaged: {exc}") from None
        for item in manifest.files:
            if Path(item.name).name != item.name:  # a file name, never a path elsewhere
                raise BackupError(f"{path} names a file outside the backup: {item.name!r}")
            copy = directory / item.name
            if not copy.is_file() or sha256_of(copy) != item.sha256:
                raise BackupError(f"{copy} is missing or does not match its checksum")
        return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
