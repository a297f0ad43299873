"""Splitting one import between worker processes, each row owned by exactly one of them.

A contact row belongs to the shard of its phone's last digits: every way of writing one
number (0812…, 62812…, +62 812-…) ends in the same digits, so all rows of one lead go to one
worker, in file order. Should two spellings still land apart (an extension, say), nothing
breaks: the ledger's optimistic concurrency makes the second writer reload and re-apply.

A note row belongs to the shard of the first contact row that carries its `contact_id`;
notes of no known contact, and unreadable rows, belong to shard 0, which rejects them. (One
difference from a single process: should that first row be rejected and a later row with
the same legacy id but another phone be imported, the notes are rejected with the first.)
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from adapters.legacy_import.readers import RawRow, Wanted

SHARD_DIGITS = 7  # the subscriber part of a number: the same however it is written


def shard_of_phone(phone: Any, shards: int) -> int:
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    return zlib.crc32(digits[-SHARD_DIGITS:].encode()) % shards


def contact_shard(row: RawRow, shards: int) -> int:
    return 0 if row.data is None else shard_of_phone(row.data.get("phone"), shards)


def legacy_ids(data: dict[str, Any]) -> list[str]:
    """The ids a note may use for this contact, normalised as rows.py validates them."""
    found = (data.get(key) for key in ("_id", "supabaseId"))
    return [text for text in (_id_text(v) for v in found) if text]


@dataclass(frozen=True)
class Assignment:
    """The shard of every row, by the line it starts on: computed once by the parent, so a
    worker skips the rows of others without parsing them."""

    contacts: array[int]
    notes: array[int]

    def contact_owned(self, shard: int) -> Wanted:
        return lambda line: _at(self.contacts, line) == shard

    def note_owned(self, shard: int) -> Wanted:
        return lambda line: _at(self.notes, line) == shard


def assign(contacts: Iterable[RawRow], notes: Iterable[RawRow], shards: int) -> Assignment:
    contact_lines: array[int] = array("H")
    owners: dict[str, int] = {}  # legacy contact id -> shard of the first row carrying it
    for row in contacts:
        shard = contact_shard(row, shards)
        _put(contact_lines, row.line, shard)
        for legacy_id in legacy_ids(row.data or {}):
            owners.setdefault(legacy_id, shard)
    note_lines: array[int] = array("H")
    for row in notes:
        contact_id = None if row.data is None else _id_text(row.data.get("contact_id"))
        _put(note_lines, row.line, owners.get(contact_id or "", 0))
    return Assignment(contact_lines, note_lines)


def _put(lines: array[int], line: int, shard: int) -> None:
    if len(lines) <= line:
        lines.extend([0] * (line + 1 - len(lines)))
    lines[line] = shard


def _at(lines: array[int], line: int) -> int:
    return lines[line] if line < len(lines) else 0


def _id_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    return str(value).strip() or None
