"""Upserts that leave the indexed columns a row already holds out of their SET list: the
rows end up exactly as a full upsert leaves them, and SQLite's program for a typical
contact update (a new message) touches the 2 indexes whose columns changed instead of 8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, create_engine

from domain.reducer import ContactView
from projections.rows import rows_of
from projections.tables import view_tables
from projections.writer import _unchanged

metadata = MetaData()
people = Table(
    "keeping_people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("a", String),
    Column("b", Integer),
    Column("c", String),  # not indexed
    Index("ix_keeping_a", "a"),
    Index("ix_keeping_ab", "b", "a"),
)
ROW = st.tuples(st.sampled_from(["x", "y", None]), st.integers(0, 2), st.text(max_size=3))
TABLE = st.dictionaries(st.integers(0, 8), ROW, max_size=8)


def _stored(conn: object) -> dict[int, tuple[object, ...]]:
    rows = conn.exec_driver_sql('SELECT id, a, b, c FROM "keeping_people"')  # type: ignore[attr-defined]
    return {r[0]: tuple(r[1:]) for r in rows}


def test_the_indexed_columns_are_those_of_an_index_less_the_key() -> None:
    assert rows_of(create_engine("sqlite://").connect(), people).indexed == {"a", "b"}


@settings(max_examples=80)
@given(before=TABLE, after=TABLE)
def test_keeping_what_did_not_change_gives_the_rows_a_full_upsert_gives(
    before: dict[int, tuple[object, ...]], after: dict[int, tuple[object, ...]]
) -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        rows = rows_of(conn, people)
        rows.insert(conn, [(i, *r) for i, r in before.items()])
        written = []
        for i, row in after.items():
            was = before.get(i)
            kept = frozenset(
                name for name, k in (("a", 0), ("b", 1)) if was is not None and was[k] == row[k]
            )
            written.append(((i, *row), kept))
        rows.upsert_keeping(conn, written)
        assert _stored(conn) == {**before, **after}


def test_a_kept_column_is_left_as_stored() -> None:
    """What makes it a saving: a kept column is not in the SET list at all."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        rows = rows_of(conn, people)
        rows.insert(conn, [(1, "x", 1, "old")])
        rows.upsert_keeping(conn, [((1, "y", 2, "new"), frozenset({"a"}))])
        assert _stored(conn) == {1: ("x", 2, "new")}


def _view(**changes: object) -> ContactView:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "lead_id": uuid4(),
        "workspace": "acme",
        "phone": "+6281355550001",
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    return ContactView(**(values | changes))  # type: ignore[arg-type]


def test_a_new_message_keeps_every_contact_index_but_its_two_times() -> None:
    contacts = view_tables(1).contacts
    indexed = rows_of(create_engine("sqlite://").connect(), contacts).indexed
    before = _view(lead_score=40, lead_status="qualified")
    later = before.updated_at + timedelta(minutes=1)
    after = ContactView(
        **{**vars(before), "updated_at": later, "last_message_at": later, "version": 2}
    )
    assert indexed - _unchanged(indexed, before, after) == {"updated_at", "last_message_at"}
    assert _unchanged(indexed, None, after) == frozenset()  # a new row sets them all
    moved = ContactView(**{**vars(after), "lead_status": "lost", "version": 3})
    assert "lead_status" not in _unchanged(indexed, after, moved)


def test_sqlites_program_rewrites_only_the_changed_indexes() -> None:
    """EXPLAIN of the contact upsert: one IdxInsert per index written (the primary key's
    and each secondary index SET touches), so keeping the unchanged columns drops six."""
    tables = view_tables(1)
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    with engine.connect() as conn:
        rows = rows_of(conn, tables.contacts)
        kept = rows.indexed - {"updated_at", "last_message_at"}

        def index_writes(sql: str) -> int:
            program = conn.exec_driver_sql(f"EXPLAIN {sql}", (None,) * len(rows.names))
            return sum(1 for op in program if op[1] == "IdxInsert")

        full = index_writes(rows.upsert_sql)
        keeping = index_writes(rows._upsert_keeping(kept))
    assert full - keeping == 6, (full, keeping)
