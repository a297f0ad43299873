"""The pure rules that make the read side follow the sources' time: Sarah's data merged by
time (`merge_said`), the conversation status from its changes' times, and the phone
spelling a search reads."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.merge import is_blank, merge_said
from domain.phone import international_digits
from domain.reducer.conversation import status_of

values = st.one_of(st.none(), st.sampled_from(["", "Budi", "Sari", "Bandung"]), st.integers(0, 3))
reports = st.lists(
    st.tuples(
        st.integers(0, 5).map(lambda m: f"2026-01-10T09:0{m}:00.000000+00:00"),
        st.dictionaries(st.sampled_from(["name", "domisili", "budget"]), values, max_size=3),
    ),
    max_size=5,
)


def merged_in(order: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    data: dict[str, Any] = {}
    times: dict[str, Any] = {}
    for at, said in order:
        data, times = merge_said(data, times, said, at)
    return data, times


@given(reports)
def test_any_arrival_order_ends_as_the_time_order(story: list[tuple[str, dict[str, Any]]]) -> None:
    expected = merged_in(sorted(story, key=lambda report: report[0]))  # stable: ties by arrival
    arrived = merged_in(story)
    assert arrived == expected
    assert not any(is_blank(value) for value in arrived[0].values())  # blanks never erase


def test_an_older_report_never_replaces_a_newer_value_nor_blanks_one() -> None:
    data, times = merge_said({}, {}, {"name": "Sari"}, "2026-01-10T09:05")
    data, times = merge_said(
        data, times, {"name": "Budi", "domisili": "Bandung"}, "2026-01-10T09:01"
    )
    data, times = merge_said(data, times, {"name": None}, "2026-01-10T09:09")
    assert data == {"name": "Sari", "domisili": "Bandung"}
    assert times == {"name": "2026-01-10T09:05", "domisili": "2026-01-10T09:01"}


CHANGES = {
    "opened": "conversation.opened",
    "closed": "conversation.closed",
    "handover": "conversation.handover",
}


@pytest.mark.parametrize(
    ("said", "status"),
    [
        ({}, "open"),
        ({"opened": 1}, "open"),
        ({"opened": 1, "closed": 2}, "closed"),
        ({"closed": 1, "opened": 2}, "open"),
        ({"handover": 1, "opened": 2}, "handover"),  # an opening does not end a handover
        ({"handover": 1, "closed": 2}, "closed"),
        ({"closed": 1, "handover": 2}, "handover"),
        ({"closed": 1, "handover": 1}, "handover"),
        ({"closed": 1, "opened": 1}, "closed"),
    ],
)
def test_the_conversation_status_is_what_its_changes_say_in_time_order(
    said: dict[str, int], status: str
) -> None:
    for order in itertools.permutations(said.items()):
        times = {CHANGES[change]: f"2026-01-10T09:0{at}" for change, at in order}
        assert status_of(times) == status


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("0819", "62819"),
        ("0819-1234-5678", "6281912345678"),
        ("+62 819 1234", "628191234"),
        ("62819", "62819"),
        ("(0819) 12", "6281912"),
        ("ömer", None),
        ("0", "0"),
    ],
)
def test_a_typed_phone_reads_as_international_digits(typed: str, digits: str | None) -> None:
    assert international_digits(typed, "ID") == digits
