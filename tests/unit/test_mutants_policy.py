"""Why the policy applied a status change over another source's: the history shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.policy import DEFAULT_POLICY, StatusProposal, StatusState, decide

SET_AT = datetime(2025, 11, 24, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("requester", "reason"),
    [("brain", "higher_priority"), ("import", "same_priority")],
)
def test_a_change_over_sarahs_status_names_the_rank_that_allowed_it(
    requester: str, reason: str
) -> None:
    by_sarah = StatusState("contacted", "sarah", False, SET_AT, "sarah")
    assert DEFAULT_POLICY.rank(requester) >= DEFAULT_POLICY.rank("sarah")
    later = StatusProposal("qualified", requester, requester, None, SET_AT + timedelta(1), 2)
    decision = decide(by_sarah, later, DEFAULT_POLICY)
    assert (decision.outcome, decision.reason) == ("applied", reason)
    assert decision.state.source == requester
