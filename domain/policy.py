"""Which source may set a lead's status: the source-priority policy (as data) and `decide`.

A policy file is TOML (`DEFAULT_POLICY_TOML` below shows every key, with the defaults;
docs/read-models.md explains them). Every key is optional and falls back to the default;
an unknown key is an error, so a typo cannot silently weaken the policy. A `[ranks]` table
replaces the default ranks as a whole (what you read is what applies)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from domain.legacy import DEFAULT_LEGACY_MAPPING, LegacyMapping, legacy_mapping
from domain.phases import KNOWN_STATUSES, is_forward

# The one place the default is written. `name` is a label only (not part of the rules);
# `forward_only` sources may only move forward along the pipeline; `hold` sources' status
# holds until a release; `[ranks]`: higher wins, a source not listed ranks 0.
DEFAULT_POLICY_TOML = """\
name = "default"
forward_only = ["sarah"]
hold = ["human"]

[ranks]
human = 3
brain = 2
import = 1
sarah = 1
"""


_DEFAULT_DOC: dict[str, Any] = tomllib.loads(DEFAULT_POLICY_TOML)


class PolicyError(ValueError):
    """The policy text is not a valid policy."""


@dataclass(frozen=True)
class Policy:
    """Ranks per source, forward-only sources and hold sources (`load_policy` builds one;
    the default is `DEFAULT_POLICY`, read from `DEFAULT_POLICY_TOML`)."""

    ranks: Mapping[str, int] = field(hash=False)
    forward_only: frozenset[str]
    hold: frozenset[str]
    name: str
    # What a legacy `lead_status` means (docs/legacy-mapping.md): `[legacy_status]`, whose
    # default is domain/legacy.py's table.
    legacy_status: LegacyMapping = DEFAULT_LEGACY_MAPPING

    def __post_init__(self) -> None:
        # A read-only copy: a policy is a value, whoever built it.
        object.__setattr__(self, "ranks", MappingProxyType(dict(self.ranks)))
        object.__setattr__(self, "forward_only", frozenset(self.forward_only))
        object.__setattr__(self, "hold", frozenset(self.hold))

    def rank(self, source: str | None) -> int:
        return 0 if source is None else self.ranks.get(source, 0)


def load_policy(text: str) -> Policy:
    """Parse a TOML policy (format in the module docstring); PolicyError when invalid."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise PolicyError("policy is not valid TOML: nested too deeply") from None
    unknown = set(doc) - set(_DEFAULT_DOC) - {"legacy_status"}
    if unknown:
        raise PolicyError(f"unknown policy keys: {', '.join(sorted(unknown))}")
    doc = {**_DEFAULT_DOC, **doc}
    name = doc["name"]
    if not isinstance(name, str) or not name.strip():
        raise PolicyError("policy 'name' must be a non-empty string")
    return Policy(
        ranks=_ranks(doc["ranks"]),
        forward_only=_sources(doc["forward_only"], "forward_only"),
        hold=_sources(doc["hold"], "hold"),
        name=name,
        legacy_status=_legacy_status(doc.get("legacy_status")),
    )


def _ranks(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise PolicyError("policy 'ranks' must be a non-empty table of source = integer")
    for source, rank in value.items():
        # bool is an int in Python; `human = true` is a mistake, not rank 1.
        if not source.strip() or not isinstance(rank, int) or isinstance(rank, bool):
            raise PolicyError(f"policy rank for {source!r} must be an integer, not {rank!r}")
    return dict(value)


def _legacy_status(table: Any) -> LegacyMapping:
    if table is None:
        return DEFAULT_LEGACY_MAPPING
    try:
        return legacy_mapping(table)
    except ValueError as exc:
        raise PolicyError(f"policy {exc}") from None


def _sources(value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise PolicyError(f"policy {key!r} must be a list of source names")
    return frozenset(value)


DEFAULT_POLICY: Policy = load_policy(DEFAULT_POLICY_TOML)


# -- the status decision ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusState:
    """A lead's status and who guards it. `held`: set by a hold source, not yet released."""

    status: str | None = None
    source: str | None = None
    held: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class StatusProposal:
    to_status: str
    source: str
    actor: str
    reason: str | None
    at: datetime
    position: int


Outcome = Literal["applied", "suppressed", "no_change"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    state: StatusState


def guard_rank(state: StatusState, policy: Policy) -> int:
    """The rank protecting the current status: 0 once a hold source's status is released."""
    if state.status is None or (state.source in policy.hold and not state.held):
        return 0
    return policy.rank(state.source)


def decide(current: StatusState, request: StatusProposal, policy: Policy) -> Decision:
    """Whether `request` changes the status, why, and the resulting state.

    Checked in order: unknown status; hold (a non-hold source is blocked by a hold, reason
    `held_by_human`, which names the remedy - a release - even though rank would block it
    too); `lower_priority`; `stale` (same rank but older than the current status: "the
    later one wins" by the sources' time; on equal times the later position, this one);
    `same_status` (no_change, still recorded); `backward_move` for forward-only sources.
    """
    rank, guard = policy.rank(request.source), guard_rank(current, policy)
    if request.to_status not in KNOWN_STATUSES:
        return Decision("suppressed", "unknown_status", current)
    if current.held and request.source not in policy.hold:
        return Decision("suppressed", "held_by_human", current)
    if rank < guard:
        return Decision("suppressed", "lower_priority", current)
    later = current.updated_at is None or request.at >= current.updated_at
    if rank == guard and not later:
        return Decision("suppressed", "stale", current)
    claimed = StatusState(
        status=request.to_status,
        source=request.source,
        held=request.source in policy.hold,
        updated_at=request.at,
        updated_by=request.actor,
    )
    if request.to_status == current.status:
        # Nothing changes, but a higher source (or a fresh hold) takes the status over.
        takes_over = rank > guard or (claimed.held and not current.held)
        return Decision("no_change", "same_status", claimed if takes_over else current)
    if request.source in policy.forward_only and not is_forward(current.status, request.to_status):
        return Decision("suppressed", "backward_move", current)
    if current.source is None:
        reason = "first_status"  # nobody set it yet (a lead starts as "new" by default)
    elif current.source in policy.hold and not current.held:
        reason = "hold_released"
    else:
        reason = "higher_priority" if rank > guard else "same_priority"
    return Decision("applied", reason, claimed)


def release(state: StatusState) -> StatusState:
    """Lift a hold: bots are then judged as if no higher source had set the status."""
    return replace(state, held=False) if state.held else state
