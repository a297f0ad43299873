"""Sarah's chat phases as sales-pipeline stages, and the order of those stages.

The phase table is the seed's (research doc, "Sync Sarah Data to Contact"); `completed`
depends on the outcome Sarah reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from domain.values import ChatPhase, LeadStatus

PHASE_STATUS: Mapping[str, str] = MappingProxyType(
    {
        ChatPhase.GREETING: LeadStatus.NEW,
        ChatPhase.COLLECT_NAME: LeadStatus.NEW,
        ChatPhase.SALAM_KENAL: LeadStatus.NEW,
        ChatPhase.COLLECT_DOMISILI: LeadStatus.NEW,
        ChatPhase.LISTENING: LeadStatus.QUALIFIED,
        ChatPhase.SUMMARIZE: LeadStatus.QUALIFIED,
        ChatPhase.VALIDATE_PAIN_POINTS: LeadStatus.QUALIFIED,
        ChatPhase.DISCOVER_INTEREST: LeadStatus.QUALIFIED,
        ChatPhase.SOLUTION_MATCH: LeadStatus.CONTACTED,
        ChatPhase.CLOSE_ATTEMPT: LeadStatus.CONTACTED,
        ChatPhase.HANDOFF: LeadStatus.CONTACTED,
        ChatPhase.COMPLETED: LeadStatus.CONVERTED,
    }
)

# Outcomes meaning "the lead was lost", compared after `_normal` (case, spaces, dashes).
LOST_OUTCOMES: frozenset[str] = frozenset({"lost", "not_interested", "rejected"})

# Forward order of the pipeline. `archived` has no rank: it is reachable from anywhere,
# and nothing is "forward" of it (reopening an archived lead is a brain/human decision).
STATUS_RANK: Mapping[str, int] = MappingProxyType(
    {
        LeadStatus.NEW: 0,
        LeadStatus.QUALIFIED: 1,
        LeadStatus.CONTACTED: 2,
        LeadStatus.CONVERTED: 3,
    }
)

KNOWN_STATUSES: frozenset[str] = frozenset(LeadStatus)


def _normal(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


def is_lost(outcome: str | None) -> bool:
    """True when Sarah's outcome says the lead was lost ("Lost", "not-interested", ...)."""
    return outcome is not None and _normal(outcome) in LOST_OUTCOMES


def status_for_phase(chat_phase: str, outcome: str | None) -> str | None:
    """The lead status a Sarah phase implies, or None for a phase we do not know."""
    status = PHASE_STATUS.get(_normal(chat_phase))
    if status == LeadStatus.CONVERTED and is_lost(outcome):
        return str(LeadStatus.ARCHIVED)
    return None if status is None else str(status)


def is_forward(current: str | None, target: str) -> bool:
    """True when moving from `current` to `target` never goes back along the pipeline.

    Staying put counts as forward. Unknown statuses are never forward (a forward-only
    source cannot reason about them), except that `archived` is always reachable.
    """
    if target == LeadStatus.ARCHIVED or current is None:
        return True
    if current not in STATUS_RANK or target not in STATUS_RANK:
        return current == target
    return STATUS_RANK[target] >= STATUS_RANK[current]
