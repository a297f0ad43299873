"""Equal rank and equal time: the later position (the request being decided) wins."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.policy import DEFAULT_POLICY, StatusProposal, StatusState, decide

T0 = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def test_a_request_at_the_same_time_from_an_equal_rank_is_applied() -> None:
    current = StatusState("contacted", "brain", False, T0, "brain-1")
    same_time = StatusProposal("qualified", "brain", "brain-2", None, T0, 2)
    decision = decide(current, same_time, DEFAULT_POLICY)
    assert (decision.outcome, decision.reason) == ("applied", "same_priority")
    assert decision.state.status == "qualified"
