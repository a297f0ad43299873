"""Why the policy applied a status change over another source's: the history shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.legacy import Mapped
from domain.policy import (
    DEFAULT_POLICY,
    PolicyError,
    StatusProposal,
    StatusState,
    decide,
    load_policy,
)

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


def test_a_higher_source_repeating_the_status_takes_it_over() -> None:
    """Same status, higher rank, not a hold source: nothing changes but who guards it."""
    by_sarah = StatusState("contacted", "sarah", False, SET_AT, "sarah")
    again = StatusProposal("contacted", "brain", "brain", None, SET_AT + timedelta(1), 2)
    decision = decide(by_sarah, again, DEFAULT_POLICY)
    assert (decision.outcome, decision.reason) == ("no_change", "same_status")
    assert (decision.state.source, decision.state.held) == ("brain", False)


def test_a_status_nobody_set_is_guarded_by_nothing() -> None:
    """A lead's default status has no source: even an unranked source may set it."""
    assert DEFAULT_POLICY.rank(None) == 0
    unranked = load_policy("[ranks]\nhuman = 3\n")  # sarah ranks 0 here
    default = StatusState("new", None, False, SET_AT, None)
    first = StatusProposal("contacted", "sarah", "sarah", None, SET_AT + timedelta(1), 1)
    decision = decide(default, first, unranked)
    assert (decision.outcome, decision.reason) == ("applied", "first_status")


def test_a_policy_files_legacy_status_table_is_the_one_applied() -> None:
    policy = load_policy('[legacy_status]\nhot = { status = "contacted", temperature = "warm" }\n')
    assert policy.legacy_status.map("HOT") == Mapped("contacted", "warm")
    assert policy.legacy_status.map("client") is None  # the table replaces the default's
    assert DEFAULT_POLICY.legacy_status.map("client") is not None


def test_an_invalid_legacy_status_table_names_the_problem() -> None:
    with pytest.raises(PolicyError, match=r"^policy legacy_status\.hot: unknown status 'warmish'$"):
        load_policy('[legacy_status]\nhot = { status = "warmish" }\n')
