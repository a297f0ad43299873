"""merge_extracted: a later Sarah report never blanks what an earlier one said."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.merge import is_blank, merge_extracted
from tests.support import sample_json


def test_phase2_nulls_do_not_blank_phase1_data() -> None:
    phase1 = sample_json("sarah-phase1-gathering.json")["extracted_data"]
    phase2 = sample_json("sarah-phase2-interest.json")["extracted_data"]
    assert phase2["name"] is None  # the sample really carries the trap
    merged = merge_extracted(phase1, phase2)
    assert merged["name"] == "Budi"
    assert merged["business_type"] == "online shop"
    assert merged["domisili"] == "Bandung"
    assert merged["pain_points"] == ["kewalahan balas chat", "miss message malam hari"]
    assert merged["urgency_level"] == "high"


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t", [], {}])
def test_blank_values_never_erase(blank: Any) -> None:
    assert merge_extracted({"name": "Budi"}, {"name": blank}) == {"name": "Budi"}


@pytest.mark.parametrize("value", ["Sari", 0, False, ["harga"], {"city": "Bandung"}])
def test_non_blank_values_replace(value: Any) -> None:
    assert merge_extracted({"name": "Budi"}, {"name": value}) == {"name": value}


def test_unknown_keys_are_kept_from_both_sides() -> None:
    merged = merge_extracted({"budget": "5jt"}, {"team_size": 3, "name": None})
    assert merged == {"budget": "5jt", "team_size": 3}


def test_nested_mappings_merge_key_by_key() -> None:
    merged = merge_extracted(
        {"address": {"city": "Bandung", "street": "Jl. Asia"}},
        {"address": {"city": None, "zip": "40111"}},
    )
    assert merged == {"address": {"city": "Bandung", "street": "Jl. Asia", "zip": "40111"}}


def test_inputs_are_not_modified_nor_shared() -> None:
    current = {"pain_points": ["a"], "x": {"y": 1}}
    update = {"pain_points": ["b"], "z": [1]}
    merged = merge_extracted(current, update)
    merged["pain_points"].append("c")
    merged["x"]["y"] = 2
    merged["z"].append(2)
    assert current == {"pain_points": ["a"], "x": {"y": 1}}
    assert update == {"pain_points": ["b"], "z": [1]}


def test_is_blank() -> None:
    blanks: list[Any] = [None, "", " ", [], (), {}]
    said: list[Any] = ["a", 0, 0.0, False, [None], {"a": None}]
    assert all(is_blank(v) for v in blanks)
    assert not any(is_blank(v) for v in said)


# -- invariants ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.text("ab \t", max_size=4),
    st.integers(),
    st.booleans(),
    st.lists(st.text("ab ", max_size=3), max_size=2),
)
keys = st.sampled_from(["name", "domisili", "pain_points", "priority", "extra"])
extracted = st.dictionaries(keys, scalars, max_size=5)


@given(extracted, extracted)
def test_merge_never_loses_a_non_blank_value(
    current: dict[str, Any],
    update: dict[str, Any],
) -> None:
    merged = merge_extracted(current, update)
    for key, value in current.items():
        if not is_blank(value):
            assert not is_blank(merged[key])
    for key, value in update.items():
        if not is_blank(value):
            assert merged[key] == value
        elif key in current:
            assert merged[key] == current[key]
    assert set(merged) == set(current) | {k for k, v in update.items() if not is_blank(v)}


@given(extracted, extracted)
def test_merge_is_idempotent(current: dict[str, Any], update: dict[str, Any]) -> None:
    once = merge_extracted(current, update)
    assert merge_extracted(once, update) == once
