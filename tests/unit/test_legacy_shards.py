"""Sharding an import between workers (adapters/legacy_import/shards.py): one person's rows
always share a shard, every row has exactly one owner, notes follow their contact."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.legacy_import.readers import RawRow, read_rows
from adapters.legacy_import.shards import assign, shard_of_phone
from tests.support import phone_spellings

indonesian_mobiles = st.integers(0, 10**9 - 1).map(lambda n: f"+62812{n:09d}")


@given(indonesian_mobiles, st.integers(1, 8))
def test_every_spelling_of_a_number_has_one_shard(e164: str, shards: int) -> None:
    assert len({shard_of_phone(s, shards) for s in phone_spellings(e164)}) == 1


def _rows(name: str, lines: list[str]) -> list[RawRow]:
    return list(read_rows(name, [line.encode() + b"\n" for line in lines], "jsonl"))


CONTACTS = [
    json.dumps({"_id": "c1", "supabaseId": "s1", "phone": "0812-1111-2222"}),
    json.dumps({"_id": "c2", "phone": "+62 857 3333 4444"}),
    "{broken",
    json.dumps({"_id": "c3", "phone": "not a phone"}),
    json.dumps({"_id": 4, "phone": None}),
]
NOTES = [
    json.dumps({"contact_id": "c1", "content": "a"}),
    json.dumps({"contact_id": "s1", "content": "b"}),  # by the contact's other id
    json.dumps({"contact_id": " c2 ", "content": "c"}),  # spaces, as validation strips them
    json.dumps({"contact_id": "nobody", "content": "d"}),
    json.dumps({"contact_id": 4, "content": "e"}),  # a number, as validation coerces it
    "{]",
]


@given(st.integers(1, 6))
def test_each_row_has_one_owner_and_notes_follow_their_contact(shards: int) -> None:
    contacts, notes = _rows("c.jsonl", CONTACTS), _rows("n.jsonl", NOTES)
    assignment = assign(contacts, notes, shards)

    def owners(rows: list[RawRow], owned: str) -> list[list[int]]:
        pick = getattr(assignment, owned)
        return [[s for s in range(shards) if pick(s)(row.line)] for row in rows]

    contact_owners = owners(contacts, "contact_owned")
    note_owners = owners(notes, "note_owned")
    assert all(len(o) == 1 for o in contact_owners + note_owners)
    c1, c2, broken, _, c4 = (o[0] for o in contact_owners)
    assert broken == 0  # unreadable rows: shard 0 rejects them
    assert [o[0] for o in note_owners] == [c1, c1, c2, 0, c4, 0]


def test_a_worker_skips_other_rows_without_parsing_them() -> None:
    lines = [json.dumps({"n": 1}), "{not json", json.dumps({"n": 3})]
    encoded = [line.encode() + b"\n" for line in lines]
    kept = list(read_rows("f.jsonl", encoded, "jsonl", wanted=lambda line: line != 2))
    assert [(r.line, r.data) for r in kept] == [(1, {"n": 1}), (3, {"n": 3})]
    csv_lines = [b"a,b\n", b'1,"x\n', b'y"\n', b"2,z\n"]  # the first row spans two lines
    rows = list(read_rows("f.csv", csv_lines, "csv", wanted=lambda line: line == 2))
    assert [(r.line, r.data) for r in rows] == [(2, {"a": "1", "b": "x\ny"})]
