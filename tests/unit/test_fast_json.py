"""The orjson encoder of lead events (adapters/eventstore/fast_json.py) means what eventsourcing's
JSONTranscoder means: whatever it is given, eventsourcing's decoder reads back the same
value as from the stdlib encoding, or both refuse it alike."""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from adapters.eventstore.fast_json import FastEncoder
from domain import lead_events
from domain.lead import Lead


def _transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    return transcoder


TRANSCODER = _transcoder()
FAST = FastEncoder(TRANSCODER)

offsets = st.sampled_from(
    [
        None,
        UTC,
        timezone(timedelta(hours=7)),
        timezone(timedelta(hours=-3, minutes=-30)),
        timezone(timedelta(hours=5, seconds=7)),  # orjson would drop the seconds
    ]
)
datetimes = st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(), offsets)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits: the stdlib path
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | datetimes
    | st.decimals(allow_nan=False, allow_infinity=False, places=4)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=12), values, max_size=8))
def test_decodes_to_what_the_stdlib_encoding_decodes_to(state: dict[str, Any]) -> None:
    try:
        expected = TRANSCODER.decode(TRANSCODER.encode(state))
    except UnicodeEncodeError:  # a lone surrogate: the stdlib refuses, and so must we
        with pytest.raises(UnicodeEncodeError):
            FAST.encode(state)
        return
    assert TRANSCODER.decode(FAST.encode(state)) == expected


def test_an_event_state_is_byte_for_byte_the_stdlib_one() -> None:
    now = datetime(2026, 11, 30, 7, 22, 49, 584655, tzinfo=UTC)
    state = {"timestamp": now, "source": "import", "occurred_at": None, "names": ["a", "é"]}
    state |= {"at": datetime(2026, 1, 1, tzinfo=UTC), "score": 7, "meta": {"when": now}}
    assert FAST.encode(state) == TRANSCODER.encode(state)


def test_unregistered_types_are_refused_as_the_stdlib_refuses_them() -> None:
    for value in ({1, 2}, object()):
        with pytest.raises(TranscodingNotRegisteredError):
            FAST.encode({"x": value})


def test_non_string_keys_are_written_as_the_stdlib_writes_them() -> None:
    assert TRANSCODER.decode(FAST.encode({"x": {1: "a"}})) == {"x": {"1": "a"}}


def test_no_lead_event_has_a_uuid_field() -> None:
    """orjson writes a UUID as a plain string: Lead events must not carry one (the mapper
    uses FastEncoder for them only; snapshots, which hold the lead id, use the stdlib)."""
    classes = {
        value
        for value in vars(Lead).values()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and is_dataclass(value)
    }
    assert {Lead.Registered, Lead.ContactImported, Lead.NoteAdded} <= classes
    stored_shapes = {
        name
        for name, value in vars(lead_events).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "LeadFact"
    }
    assert stored_shapes <= {cls.__name__ for cls in classes}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for field in fields(cls):
            if field.name in ("originator_id",):  # popped before encoding
                continue
            hint = hints.get(field.name)
            assert hint is not UUID, (cls.__name__, field.name)
            assert "UUID" not in repr(hint), (cls.__name__, field.name)
