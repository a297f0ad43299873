"""Looking rows up by (lead, message id) pairs returns exactly the stored rows of those
pairs, whatever the lists' sizes (chunked), and never a row of another combination of
the pairs' leads and ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, String, Table, create_engine

from projections.rows import PAIR_CHUNK, rows_of

metadata = MetaData()
messages = Table(
    "pairs_messages",
    metadata,
    Column("lead_id", String, primary_key=True),
    Column("message_id", String, primary_key=True),
    Column("text", String),
)
LEADS = [f"lead-{i}" for i in range(6)]
IDS = [f"wamid.{i}" for i in range(6)]
pair = st.tuples(st.sampled_from(LEADS), st.sampled_from(IDS))


@settings(max_examples=60)
@given(stored=st.sets(pair, max_size=30), asked=st.lists(pair, max_size=40, unique=True))
def test_pairs_give_exactly_the_stored_rows_asked_for(
    stored: set[tuple[str, str]], asked: list[tuple[str, str]]
) -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        rows = rows_of(conn, messages)
        rows.insert(conn, [(lead, m, f"{lead}/{m}") for lead, m in sorted(stored)])
        found = list(rows.select_pairs(conn, "lead_id", "message_id", asked))
    assert sorted((r["lead_id"], r["message_id"]) for r in found) == sorted(set(asked) & stored)
    assert all(r["text"] == f"{r['lead_id']}/{r['message_id']}" for r in found)


def test_more_pairs_than_a_chunk_are_all_found() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    every = [(f"lead-{i}", f"wamid.{i}") for i in range(2 * PAIR_CHUNK + 7)]
    with engine.begin() as conn:
        rows = rows_of(conn, messages)
        rows.insert(conn, [(lead, m, "t") for lead, m in every])
        found = list(rows.select_pairs(conn, "lead_id", "message_id", every))
    assert len(found) == len(every)
