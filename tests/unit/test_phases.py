"""Sarah's chat phases as pipeline stages, and the pipeline's forward order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.phases import STATUS_RANK, is_forward, is_lost, status_for_phase
from domain.values import ChatPhase, LeadStatus

EXPECTED = {
    "greeting": "new",
    "collect_name": "new",
    "salam_kenal": "new",
    "collect_domisili": "new",
    "listening": "qualified",
    "summarize": "qualified",
    "validate_pain_points": "qualified",
    "discover_interest": "qualified",
    "solution_match": "contacted",
    "close_attempt": "contacted",
    "handoff": "contacted",
    "completed": "converted",
}


@pytest.mark.parametrize(("phase", "status"), sorted(EXPECTED.items()))
def test_phase_table(phase: str, status: str) -> None:
    assert status_for_phase(phase, None) == status


def test_every_known_phase_maps_to_a_known_status() -> None:
    assert {str(p) for p in ChatPhase} == set(EXPECTED)
    for phase in ChatPhase:
        assert status_for_phase(phase, None) in set(LeadStatus)


@pytest.mark.parametrize(
    "outcome",
    [
        "lost",
        "LOST",
        " Lost ",
        "not_interested",
        "Not Interested",
        "not-interested",
        "rejected",
        "REJECTED",
    ],
)
def test_completed_and_lost_is_archived(outcome: str) -> None:
    assert is_lost(outcome)
    assert status_for_phase("completed", outcome) == "archived"


@pytest.mark.parametrize("outcome", [None, "", "won", "interested", "lost_cause"])
def test_completed_otherwise_is_converted(outcome: str | None) -> None:
    assert status_for_phase("completed", outcome) == "converted"


def test_outcome_only_matters_for_completed() -> None:
    assert status_for_phase("close_attempt", "lost") == "contacted"


@pytest.mark.parametrize("phase", ["", "A", "unknown", "phase_9"])
def test_unknown_phase_has_no_status(phase: str) -> None:
    assert status_for_phase(phase, None) is None


def test_phase_names_are_read_leniently() -> None:
    assert status_for_phase(" Close_Attempt ", None) == "contacted"


def test_status_rank_order() -> None:
    order = sorted(STATUS_RANK, key=STATUS_RANK.__getitem__)
    assert order == ["new", "qualified", "contacted", "converted"]
    assert "archived" not in STATUS_RANK


statuses = st.sampled_from([*LeadStatus, None])


@given(statuses, st.sampled_from(list(LeadStatus)))
def test_forward_follows_the_pipeline(current: str | None, target: str) -> None:
    if target == "archived" or current is None:
        expected = True
    elif current == "archived":
        expected = False  # nothing is forward of archived: reopening is not a bot's call
    else:
        expected = STATUS_RANK[target] >= STATUS_RANK[current]
    assert is_forward(current, target) is expected


def test_unknown_statuses_are_not_forward() -> None:
    assert not is_forward("hot", "qualified")
    assert not is_forward("new", "hot")
    assert is_forward("hot", "archived")
