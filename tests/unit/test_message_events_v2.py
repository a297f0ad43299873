"""v2 of the message events: a v1 event reads with every new field None (the message's
rest was not recorded then), never a guess."""

from __future__ import annotations

from typing import Any

import pytest

from domain import lead_events as events

NEW_FIELDS: list[tuple[Any, tuple[str, ...]]] = [
    (events.InboundMessageReceived, ("wa_id", "content", "referral", "context", "errors")),
    (events.OutboundMessageSent, ("content", "echo", "wa_id")),
    (events.MessageStatusChanged, ("errors", "recipient_id", "detail")),
]


@pytest.mark.parametrize(("event_class", "fields"), NEW_FIELDS)
def test_v1_states_upcast_with_the_new_fields_none(
    event_class: Any, fields: tuple[str, ...]
) -> None:
    assert event_class.class_version == 2
    state: dict[str, Any] = {"message_id": "wamid.1", "text": None}  # erased values are None
    event_class.upcast_v1_v2(state)
    assert {name: state[name] for name in fields} == dict.fromkeys(fields)
    assert state["message_id"] == "wamid.1"
    assert set(fields) <= set(event_class.__annotations__)
