"""A policy names only sources leadledger knows, and ranks every source that states a
status: a typo (`brian`) or a forgotten source is refused, never read as "rank 0"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.policy import (
    DEFAULT_POLICY,
    KNOWN_SOURCES,
    STATUS_SOURCES,
    PolicyError,
    load_policy,
    load_policy_in_force,
)

COMPLETE = "[ranks]\nhuman = 3\nbrain = 2\nimport = 1\nsarah = 1\n"
KNOWN = "brain, human, import, kapso, meta, sarah"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (COMPLETE + "brian = 2\n", "ranks"),
        ('hold = ["human", "brian"]\n', "hold"),
        ('forward_only = ["sarha"]\n', "forward_only"),
    ],
)
def test_an_unknown_source_is_refused_with_its_name_and_the_known_ones(text: str, key: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    typo = "sarha" if key == "forward_only" else "brian"
    assert str(caught.value) == (
        f"policy {key!r} names unknown source(s) {typo}; known sources: {KNOWN}"
    )


def test_a_partial_ranks_table_is_refused_naming_what_it_misses() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy("[ranks]\nhuman = 4\nsarah = 1\n")
    assert str(caught.value) == (
        "policy 'ranks' must rank every source that states a status "
        "(brain, human, import, sarah); missing: brain, import "
        "(write `source = 0` to leave one unranked)"
    )


@given(
    st.dictionaries(st.sampled_from(sorted(KNOWN_SOURCES)), st.integers(-5, 5)),
)
def test_ranks_load_exactly_when_every_status_source_is_ranked(ranks: dict[str, int]) -> None:
    text = "[ranks]\n" + "".join(f"{source} = {rank}\n" for source, rank in ranks.items())
    if not ranks:
        text = ""  # no table: the default ranks
    if ranks and not set(ranks) >= STATUS_SOURCES:
        with pytest.raises(PolicyError, match="missing: "):
            load_policy(text)
        return
    policy = load_policy(text)
    expected = ranks or dict(DEFAULT_POLICY.ranks)
    assert {s: policy.rank(s) for s in KNOWN_SOURCES} == {
        s: expected.get(s, 0) for s in KNOWN_SOURCES
    }


def test_a_policy_stored_with_a_generation_keeps_the_meaning_it_was_built_with() -> None:
    """Before this check a partial `[ranks]` was accepted (unlisted sources rank 0): the
    views built under one keep reading it that way after an upgrade."""
    stored = 'name = "old"\n[ranks]\nhuman = 3\nsarah = 2\n'
    policy = load_policy_in_force(stored)
    assert dict(policy.ranks) == {"human": 3, "sarah": 2}
    assert policy.rank("brain") == 0
    with pytest.raises(PolicyError):
        load_policy(stored)  # a new policy file must be complete
