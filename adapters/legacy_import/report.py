"""What an import did: the summary and the rejected rows (with their line numbers)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

# Rejected rows kept in memory for the HTTP answer; the rejects file has all of them.
MAX_REJECTS_IN_MEMORY = 1000


@dataclass(frozen=True)
class Reject:
    file: str
    line: int
    reason: str  # broken_json | invalid_row | unusable_phone | unknown_status | ...
    detail: str
    raw: str

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
        }


@dataclass
class Summary:
    contacts_read: int = 0
    contacts_imported: int = 0  # rows that appended a fact (new or changed)
    contacts_unchanged: int = 0  # rows already imported as they are
    notes_read: int = 0
    notes_imported: int = 0
    notes_unchanged: int = 0
    leads_created: int = 0
    events_appended: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)

    def add(self, other: Summary) -> None:
        """Fold in another part of the same import (a worker's share)."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.update(other.rejected)
        room = MAX_REJECTS_IN_MEMORY - len(self.rejects)
        self.rejects += other.rejects[: max(room, 0)]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "contacts": {
                "read": self.contacts_read,
                "imported": self.contacts_imported,
                "unchanged": self.contacts_unchanged,
            },
            "notes": {
                "read": self.notes_read,
                "imported": self.notes_imported,
                "unchanged": self.notes_unchanged,
            },
            "leads_created": self.leads_created,
            "events_appended": self.events_appended,
            "duplicates_skipped": self.contacts_unchanged + self.notes_unchanged,
            "rejected": {
                "total": self.rejected_total,
                "by_reason": dict(sorted(self.rejected.items())),
            },
        }


_COUNTS = (
    "contacts_read",
    "contacts_imported",
    "contacts_unchanged",
    "notes_read",
    "notes_imported",
    "notes_unchanged",
    "leads_created",
    "events_appended",
)


class RejectSink:
    """Counts rejects in the summary, writes them to a JSONL file (when given) and keeps
    the first MAX_REJECTS_IN_MEMORY for an HTTP answer."""

    def __init__(self, summary: Summary, out: IO[str] | None = None) -> None:
        self.summary = summary
        self.out = out

    def __call__(self, reject: Reject) -> None:
        self.summary.rejected[reject.reason] += 1
        if len(self.summary.rejects) < MAX_REJECTS_IN_MEMORY:
            self.summary.rejects.append(reject)
        if self.out is not None:
            self.out.write(json.dumps(reject.as_json(), ensure_ascii=False) + "\n")


def default_rejects_path(contacts: Path) -> Path:
    return contacts.with_name(contacts.stem + ".rejects.jsonl")
