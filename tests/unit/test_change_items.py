"""The feed's pure parts: cursors, what one event's items say, and the personal split."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.policy import DEFAULT_POLICY
from domain.reducer import LedgerEvent, apply
from domain.reducer.changes import WHOLE_POSITION, changes_of
from projections.feed_rows import BadCursorError, ChangeQuery, Cursor

AT = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)
LEAD = uuid4()


def event(position: int, kind: str, **data: object) -> LedgerEvent:
    said = {"source": "kapso", "actor": "kapso", "received_at": AT, "occurred_at": AT}
    return LedgerEvent(LEAD, position, position + 100, kind, AT, {**said, **data})


@pytest.mark.parametrize(
    ("text", "cursor"),
    [("", Cursor()), (None, Cursor()), ("12", Cursor(12, WHOLE_POSITION)), ("12.3", Cursor(12, 3))],
)
def test_cursors_parse(text: str | None, cursor: Cursor) -> None:
    assert Cursor.parse(text) == cursor


@pytest.mark.parametrize("text", ["x", "1.2.3", "-1", "1.", ".1", "1e3", "9" * 19])
def test_bad_cursors_are_refused(text: str) -> None:
    with pytest.raises(BadCursorError):
        Cursor.parse(text)


@given(st.integers(0, 10**12), st.integers(0, WHOLE_POSITION))
def test_a_cursor_reads_back_as_itself(position: int, seq: int) -> None:
    assert Cursor.parse(str(Cursor(position, seq))) == Cursor(position, seq)


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match=r"lead\.exploded"):
        ChangeQuery("acme", types=("lead.exploded",))


def test_a_message_says_what_came_and_what_changed() -> None:
    created = apply(None, event(1, "Registered", workspace="acme", phone="+628123"), DEFAULT_POLICY)
    inbound = event(
        2,
        "InboundMessageReceived",
        message_id="wamid.1",
        message_type="text",
        text="Halo",
        conversation_id=None,
    )
    effects = apply(created.view, inbound, DEFAULT_POLICY, {})
    items = changes_of(created.view, inbound, effects)
    assert [(i.type, i.seq, i.position) for i in items] == [
        ("message.received", 0, 102),
        ("lead.updated", 1, 102),
    ]
    said, updated = items
    assert said.data == {"message_type": "text"}  # the skeleton
    assert said.personal == {"message_id": "wamid.1", "text": "Halo"}
    fields = updated.public()["data"]["fields"]
    assert fields["inbound_count"] == {"before": 0, "after": 1}
    assert "version" not in fields
    assert "updated_at" not in fields


def test_an_already_applied_event_makes_no_item() -> None:
    created = apply(None, event(1, "Registered", workspace="acme", phone="+628123"), DEFAULT_POLICY)
    again = event(1, "Registered", workspace="acme", phone="+628123")
    assert changes_of(created.view, again, apply(created.view, again, DEFAULT_POLICY)) == []
