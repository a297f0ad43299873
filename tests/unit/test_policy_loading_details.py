"""Policy loading details the operator sees: the name kept, the exact error messages, and
rule sets frozen whatever collection they were built from."""

from __future__ import annotations

import pytest

from domain.policy import Policy, PolicyError, load_policy


def test_the_policy_name_is_kept() -> None:
    assert load_policy('name = "sarah-first"').name == "sarah-first"


def test_every_unknown_key_is_named() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy("ranx = 1\nforward-only = []")
    assert str(caught.value) == "unknown policy keys: forward-only, ranx"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "  "', "policy 'name' must be a non-empty string"),
        ("ranks = {}", "policy 'ranks' must be a non-empty table of source = integer"),
        ("[ranks]\nhuman = 1.5", "policy rank for 'human' must be an integer, not 1.5"),
        ("hold = [1]", "policy 'hold' must be a list of source names"),
    ],
)
def test_bad_policies_are_refused_with_their_exact_message(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    assert str(caught.value) == message


def test_rule_sets_are_frozen_copies_of_what_the_policy_was_built_from() -> None:
    forward_only, hold = {"sarah"}, ["human"]
    policy = Policy(
        ranks={"human": 3},
        forward_only=forward_only,  # type: ignore[arg-type]
        hold=hold,  # type: ignore[arg-type]
        name="t",
    )
    forward_only.add("brain")
    hold.append("brain")
    assert policy.forward_only == frozenset({"sarah"})
    assert policy.hold == frozenset({"human"})
    assert isinstance(policy.forward_only, frozenset)
    assert isinstance(policy.hold, frozenset)
