"""A status already held by a human keeps its holder when another human confirms it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.policy import DEFAULT_POLICY, StatusProposal, StatusState, decide, release

T0 = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def test_confirming_a_held_status_keeps_the_first_holder_and_time() -> None:
    held = StatusState("qualified", "human", True, T0, "agent-1")
    later = StatusProposal("qualified", "human", "agent-2", None, T0 + timedelta(hours=1), 7)
    decision = decide(held, later, DEFAULT_POLICY)
    assert (decision.outcome, decision.reason) == ("no_change", "same_status")
    assert decision.state == held


def test_a_release_leaves_a_plain_false_hold_flag() -> None:
    released = release(StatusState("qualified", "human", True, T0, "agent-1"))
    assert released.held is False
    assert released == StatusState("qualified", "human", False, T0, "agent-1")
