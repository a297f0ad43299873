"""The source-priority policy: loading it, and `decide`'s rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.phases import is_forward
from domain.policy import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_TOML,
    Decision,
    Policy,
    PolicyError,
    StatusProposal,
    StatusState,
    decide,
    guard_rank,
    load_policy,
    release,
)

T0 = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def ask(to: str, source: str, minute: int = 0, actor: str | None = None) -> StatusProposal:
    return StatusProposal(
        to, source, actor or f"{source}-1", None, T0 + timedelta(minutes=minute), minute
    )


def run(*proposals: StatusProposal, state: StatusState | None = None) -> list[Decision]:
    state = state or StatusState()
    decisions = []
    for proposal in proposals:
        decision = decide(state, proposal, DEFAULT_POLICY)
        decisions.append(decision)
        state = decision.state
    return decisions


# -- loading --------------------------------------------------------------------------------


def test_default_policy() -> None:
    assert load_policy(DEFAULT_POLICY_TOML) == DEFAULT_POLICY == load_policy("")
    assert dict(DEFAULT_POLICY.ranks) == {"human": 3, "brain": 2, "import": 1, "sarah": 1}
    assert DEFAULT_POLICY.forward_only == {"sarah"}
    assert DEFAULT_POLICY.rank("kapso") == 0


def test_missing_keys_fall_back_to_defaults_and_ranks_replace_as_a_whole() -> None:
    policy = load_policy('name = "sarah-first"\n[ranks]\nsarah = 5\nhuman = 1\n')
    assert dict(policy.ranks) == {"sarah": 5, "human": 1}
    assert policy.forward_only == {"sarah"}
    assert policy.hold == {"human"}
    assert policy.rank("brain") == 0


def test_the_rules_are_about_content_not_names_or_order() -> None:
    reordered = load_policy(
        'name = "x"\nforward_only = ["sarah"]\n[ranks]\nsarah = 1\n'
        "import = 1\nbrain = 2\nhuman = 3\n"
    )
    assert reordered == replace(DEFAULT_POLICY, name="x")
    assert load_policy("forward_only = []").forward_only == frozenset()
    assert load_policy("[ranks]\nhuman = 4").rank("human") == 4


def test_policy_is_a_value() -> None:
    ranks = {"human": 3}
    policy = Policy(ranks=ranks, forward_only=frozenset(), hold=frozenset(), name="t")
    ranks["human"] = 0
    assert policy.rank("human") == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ranks", "not valid TOML"),
        ("forward-only = []", "unknown policy keys: forward-only"),
        ("[ranks]\nhuman = true", "must be an integer"),
        ('[ranks]\nhuman = "3"', "must be an integer"),
        ("ranks = {}", "non-empty table"),
        ('forward_only = "sarah"', "'forward_only' must be a list"),
        ("hold = [1]", "'hold' must be a list"),
        ('name = ""', "'name' must be a non-empty string"),
    ],
)
def test_bad_policies_are_rejected_clearly(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(text)
    assert issubclass(PolicyError, ValueError)


# -- decide ---------------------------------------------------------------------------------


def test_first_status_is_applied() -> None:
    decision = run(ask("qualified", "sarah"))[0]
    assert (decision.outcome, decision.reason) == ("applied", "first_status")
    assert decision.state == StatusState("qualified", "sarah", False, T0, "sarah-1")


def test_lower_priority_is_suppressed() -> None:
    brain, sarah = run(ask("contacted", "brain"), ask("converted", "sarah", 1))
    assert brain.outcome == "applied"
    assert (sarah.outcome, sarah.reason) == ("suppressed", "lower_priority")
    assert sarah.state == brain.state


def test_equal_rank_later_wins_and_older_is_stale() -> None:
    _, later, older = run(
        ask("qualified", "sarah", 5),
        ask("contacted", "import", 6),
        ask("new", "sarah", 1),
    )
    assert (later.outcome, later.reason) == ("applied", "same_priority")
    assert (older.outcome, older.reason) == ("suppressed", "stale")
    assert older.state.status == "contacted"


def test_forward_only_source_cannot_move_back_but_brain_can() -> None:
    _, back, brain = run(
        ask("contacted", "sarah"), ask("qualified", "sarah", 1), ask("new", "brain", 2)
    )
    assert (back.outcome, back.reason) == ("suppressed", "backward_move")
    assert (brain.outcome, brain.state.status) == ("applied", "new")


def test_sarah_may_archive_from_anywhere_but_not_leave_archived() -> None:
    archive, reopen = run(
        ask("archived", "sarah", 1),
        ask("converted", "sarah", 2),
        state=StatusState("converted", "sarah", False, T0, "s"),
    )
    assert archive.outcome == "applied"
    assert (reopen.outcome, reopen.reason) == ("suppressed", "backward_move")


def test_human_holds_until_released() -> None:
    human, brain, other_human = run(
        ask("qualified", "human"),
        ask("contacted", "brain", 1),
        ask("new", "human", 2, "u2"),
    )
    assert human.state.held
    assert (brain.outcome, brain.reason) == ("suppressed", "held_by_human")
    assert other_human.outcome == "applied"
    assert other_human.state == StatusState("new", "human", True, T0 + timedelta(minutes=2), "u2")


def test_release_lets_bots_move_again_forward_only_still_applies() -> None:
    held = run(ask("contacted", "human"))[0].state
    released = release(held)
    assert not released.held
    assert released.status == "contacted"
    assert guard_rank(released, DEFAULT_POLICY) == 0
    back = decide(released, ask("qualified", "sarah", 1), DEFAULT_POLICY)
    assert (back.outcome, back.reason) == ("suppressed", "backward_move")
    forward = decide(released, ask("converted", "sarah", 1), DEFAULT_POLICY)
    assert (forward.outcome, forward.reason) == ("applied", "hold_released")
    assert decide(released, ask("new", "brain", 1), DEFAULT_POLICY).outcome == "applied"
    assert release(released) == released


def test_same_status_is_no_change_but_a_human_confirmation_takes_the_hold() -> None:
    sarah, again, human = run(
        ask("qualified", "sarah"),
        ask("qualified", "sarah", 1),
        ask("qualified", "human", 2),
    )
    assert (again.outcome, again.reason) == ("no_change", "same_status")
    assert again.state == sarah.state  # the status did not change: nor does its owner
    assert human.outcome == "no_change"
    assert human.state.held
    assert human.state.source == "human"
    assert decide(human.state, ask("contacted", "brain", 3), DEFAULT_POLICY).outcome == "suppressed"


def test_unknown_status_is_suppressed() -> None:
    decision = run(ask("hot", "human"))[0]
    assert (decision.outcome, decision.reason) == ("suppressed", "unknown_status")
    assert decision.state == StatusState()


def test_flip_flop_between_bot_and_human_is_suppressed() -> None:
    decisions = run(
        ask("qualified", "sarah", 0),
        ask("archived", "human", 1),
        ask("qualified", "sarah", 2),
        ask("contacted", "brain", 3),
        ask("contacted", "sarah", 4),
        ask("qualified", "sarah", 5),
    )
    assert [d.state.status for d in decisions] == ["qualified"] + ["archived"] * 5
    assert all(d.outcome == "suppressed" for d in decisions[2:])


# -- invariants ------------------------------------------------------------------------------

SOURCES = ["human", "brain", "import", "sarah", "kapso"]
STATUSES = ["new", "qualified", "contacted", "converted", "archived"]
steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(STATUSES), st.sampled_from(SOURCES), st.integers(0, 20)),
        st.just(None),  # a release
    ),
    max_size=25,
)


@given(steps)
def test_decide_invariants(ops: list[tuple[str, str, int] | None]) -> None:
    state = StatusState()
    for op in ops:
        if op is None:
            state = release(state)
            continue
        status, source, minute = op
        before = state
        decision = decide(before, ask(status, source, minute), DEFAULT_POLICY)
        state = decision.state
        if decision.outcome == "suppressed":
            assert state == before
        if decision.outcome == "applied":
            assert state.status == status != before.status
            # Priority: never a lower source over a higher one (unless released).
            assert DEFAULT_POLICY.rank(source) >= guard_rank(before, DEFAULT_POLICY)
            assert not (before.held and source != "human")
            if source == "sarah":
                assert is_forward(before.status, status)
        assert not state.held or state.source == "human"
