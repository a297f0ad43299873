"""Reading, validating and mapping legacy rows (no store involved)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.legacy_import.mapping import (
    DEFAULT_MAPPING,
    Mapped,
    MappingError,
    load_mapping,
    mapping_from_files,
)
from adapters.legacy_import.plan import (
    PlannedContact,
    PlannedNote,
    note_command,
    parse_note,
    plan_contact,
)
from adapters.legacy_import.readers import RawRow, read_rows
from adapters.legacy_import.report import Reject

NOW = datetime(2026, 1, 30, tzinfo=UTC)
MS = 1_706_600_000_000  # 2024-01-30T07:33:20Z


def rows(text: str, fmt: str = "jsonl") -> list[RawRow]:
    return list(read_rows("f", text.encode().splitlines(keepends=True), fmt))  # type: ignore[arg-type]


def contact(**fields: object) -> RawRow:
    data = {"_id": "c1", "phone": "0812-3456-7890", "lead_status": "hot", **fields}
    return RawRow("contacts.jsonl", 3, json.dumps(data), data=data)


def planned(row: RawRow) -> PlannedContact:
    result = plan_contact(row, DEFAULT_MAPPING, "ID", NOW)
    assert isinstance(result, PlannedContact), result
    return result


def rejected(row: RawRow) -> Reject:
    result = plan_contact(row, DEFAULT_MAPPING, "ID", NOW)
    assert isinstance(result, Reject), result
    return result


# -- mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "status", "temperature"),
    [
        ("hot", "qualified", "hot"),
        ("warm", "qualified", "warm"),
        ("cold", "new", "cold"),
        ("client", "converted", None),
        ("lost", "archived", None),
        (" HOT ", "qualified", "hot"),
    ],
)
def test_default_mapping(legacy: str, status: str, temperature: str | None) -> None:
    assert DEFAULT_MAPPING.map(legacy) == Mapped(status, temperature)


def test_unknown_legacy_value_has_no_mapping() -> None:
    assert DEFAULT_MAPPING.map("lukewarm") is None


def test_a_table_replaces_the_default_as_a_whole() -> None:
    mapping = load_mapping('[legacy_status]\nhot = { status = "contacted" }\n')
    assert mapping.map("hot") == Mapped("contacted", None)
    assert mapping.map("warm") is None


@pytest.mark.parametrize(
    "text",
    [
        '[legacy_status]\nhot = { status = "won" }',
        '[legacy_status]\nhot = { status = "new", temperature = "boiling" }',
        '[legacy_status]\nhot = { status = "new", colour = "red" }',
        '[legacy_status]\nhot = "new"',
        "legacy_status = 3",
        "[legacy_status",
    ],
)
def test_bad_mapping_is_an_error(text: str) -> None:
    with pytest.raises(MappingError):
        load_mapping(text)


def test_mapping_file_comes_before_the_config_file(tmp_path: Path) -> None:
    given, config = tmp_path / "m.toml", tmp_path / "config.toml"
    config.write_text('[legacy_status]\nhot = { status = "contacted" }\n')
    assert mapping_from_files(None, config).map("hot") == Mapped("contacted")
    given.write_text('[legacy_status]\nhot = { status = "converted" }\n')
    assert mapping_from_files(given, config).map("hot") == Mapped("converted")
    assert mapping_from_files(tmp_path / "absent.toml") == DEFAULT_MAPPING


def test_reason_shows_the_mapping() -> None:
    assert Mapped("qualified", "hot").reason("hot") == (
        "imported: legacy lead_status 'hot' → qualified (temperature hot)"
    )
    assert Mapped("converted").reason("client") == (
        "imported: legacy lead_status 'client' → converted"
    )


# -- readers ---------------------------------------------------------------------------------


def test_jsonl_rows_keep_their_line_numbers_and_broken_lines_are_reported() -> None:
    text = '{"a": 1}\n\n{"a": 2\n[1, 2]\n{"a": NaN}\n{"a": 3}\n'
    found = rows(text)
    assert [(r.line, r.data is not None) for r in found] == [
        (1, True),
        (3, False),
        (4, False),
        (5, False),
        (6, True),
    ]
    assert found[1].raw == '{"a": 2'
    assert all(r.error and r.error.startswith("broken JSON") for r in found[1:4])


def test_jsonl_line_that_is_not_utf8_is_one_broken_row() -> None:
    found = list(read_rows("f", [b'{"a": 1}\n', b'{"a": "\xff"}\n', b'{"a": 2}\n'], "jsonl"))
    assert [(r.line, r.error is None) for r in found] == [(1, True), (2, False), (3, True)]


def test_csv_rows_empty_cells_are_missing_and_lines_are_where_rows_start() -> None:
    text = (
        "\ufeff_id,phone,kapso_name,metadata\n"
        'c1,0812-3456-7890,,"{""tag"": ""vip""}"\n'
        '"c2","+62 812 3456 7891","Budi\nKarta",\n'
        "\n"
        "c3,0812\n"
    )
    found = rows(text, "csv")
    assert [r.line for r in found] == [2, 3, 6]
    assert found[0].data == {
        "_id": "c1",
        "phone": "0812-3456-7890",
        "kapso_name": None,
        "metadata": '{"tag": "vip"}',
    }
    assert found[1].data is not None
    assert found[1].data["kapso_name"] == "Budi\nKarta"
    assert found[2].data == {"_id": "c3", "phone": "0812"}


# -- contacts --------------------------------------------------------------------------------


def test_a_good_row_becomes_one_import_command() -> None:
    plan = planned(
        contact(
            supabaseId="s1",
            kapso_name=" Budi ",
            lead_score=80,
            metadata={"src": "ig"},
            created_at=MS,
            updated_at=MS + 1000,
            workspace_id="ignored",
        )
    )
    command = plan.command
    assert command.phone == "+6281234567890"
    assert command.said.source == "import"
    assert command.said.occurred_at == datetime.fromtimestamp((MS + 1000) / 1000, UTC)
    row = command.row
    assert (row.legacy_id, row.convex_id, row.supabase_id) == ("c1", "c1", "s1")
    # Recorded as the file said it; the views map it (tests/unit/test_legacy_mapping.py).
    assert (row.name, row.legacy_status) == ("Budi", "hot")
    assert (row.lead_score, row.metadata) == (80, {"src": "ig"})
    assert row.created_at == datetime.fromtimestamp(MS / 1000, UTC)
    assert plan.ids == ["c1", "s1"]


def test_csv_values_are_read_like_json_ones() -> None:
    data = {
        "_id": "c1",
        "phone": "081234567890",
        "lead_status": "Client",
        "lead_score": "42",
        "metadata": '{"a": [1]}',
        "created_at": str(MS),
    }
    plan = planned(RawRow("contacts.csv", 2, "", data=data))
    assert (plan.command.row.lead_score, plan.command.row.metadata) == (42, {"a": [1]})
    assert plan.command.row.legacy_status == "Client"  # as written, mapped on read
    assert plan.command.said.occurred_at == datetime.fromtimestamp(MS / 1000, UTC)


def test_missing_values_are_none() -> None:
    row = planned(contact(kapso_name=None, lead_score=None, metadata=None)).command.row
    assert (row.name, row.lead_score, row.metadata, row.created_at) == (None, None, None, None)


def test_legacy_id_falls_back_to_supabase_id_then_phone() -> None:
    assert planned(contact(_id=None, supabaseId="s9")).command.row.legacy_id == "s9"
    assert planned(contact(_id=None)).command.row.legacy_id == "phone:+6281234567890"


@pytest.mark.parametrize("phone", [None, "", "abc", "12", "0812-3456-7890 ext 5"])
def test_unusable_phone_is_rejected(phone: str | None) -> None:
    found = rejected(contact(phone=phone))
    assert (found.reason, found.line, found.file) == ("unusable_phone", 3, "contacts.jsonl")


@pytest.mark.parametrize("status", [None, "", "lukewarm", "qualified"])
def test_unknown_status_is_rejected(status: str | None) -> None:
    found = rejected(contact(lead_status=status))
    assert found.reason == "unknown_status"
    assert "hot" in found.detail


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lead_score": True}, "lead_score"),
        ({"lead_score": 101}, "lead_score"),
        ({"lead_score": "high"}, "lead_score"),
        ({"created_at": -5}, "created_at"),
        ({"updated_at": "yesterday"}, "updated_at"),
        ({"metadata": "{not json"}, "metadata"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"kapso_name": "a\x00b"}, "kapso_name"),
    ],
)
def test_invalid_row_names_the_field(fields: dict[str, object], field: str) -> None:
    found = rejected(contact(**fields))
    assert found.reason == "invalid_row"
    assert found.detail.startswith(field)


def test_unreadable_row_is_rejected_with_its_line() -> None:
    found = rejected(RawRow("c.jsonl", 7, "{", error="broken JSON: Expecting value"))
    assert (found.reason, found.line, found.raw) == ("broken_json", 7, "{")


# -- notes -----------------------------------------------------------------------------------


def note(**fields: object) -> PlannedNote:
    data = {
        "_id": "n1",
        "contact_id": "c1",
        "user_id": "sarah-bot",
        "content": "wants a demo",
        "created_at": MS,
        **fields,
    }
    result = parse_note(RawRow("notes.jsonl", 1, "", data=data))
    assert isinstance(result, PlannedNote), result
    return result


def test_sarah_bot_notes_are_sarahs_and_keep_their_time() -> None:
    command = note_command(note(), "+6281234567890", NOW)
    assert (command.said.source, command.said.actor) == ("import", "sarah")
    assert command.said.occurred_at == datetime.fromtimestamp(MS / 1000, UTC)
    assert command.content == "wants a demo"
    human = note_command(note(user_id="user_42"), "+6281234567890", NOW)
    assert human.said.actor == "user_42"


def test_note_keys_are_stable_and_change_with_the_text() -> None:
    first = note_command(note(), "+6281234567890", NOW).said.idempotency_key
    again = note_command(note(), "+6281234567890", NOW).said.idempotency_key
    edited = note_command(note(content="demo booked"), "+6281234567890", NOW).said
    assert first == again
    assert first is not None
    assert first.startswith("import:note:n1:")
    assert edited.idempotency_key != first
    no_id = note_command(note(_id=None), "+6281234567890", NOW).said.idempotency_key
    assert no_id is not None
    assert no_id.startswith(f"import:note:c1@{MS}:")


@pytest.mark.parametrize("fields", [{"content": "  "}, {"contact_id": None}, {"created_at": True}])
def test_invalid_note_is_rejected(fields: dict[str, object]) -> None:
    data = {"_id": "n1", "contact_id": "c1", "content": "x", **fields}
    found = parse_note(RawRow("notes.jsonl", 4, "raw", data=data))
    assert isinstance(found, Reject)
    assert found.reason == "invalid_row"
