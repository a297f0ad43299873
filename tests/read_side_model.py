"""A reference model of one lead's read side, written from docs/read-models.md, not from
domain/ (the oracle of tests/integration/test_read_side_oracle.py).

It imports nothing of the project: the policy file is parsed here with tomllib by the
documented semantics, and every rule below quotes the doc it comes from. Where the docs are
silent the choice is stated (docs/testing.md, "The read-side oracle").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("new", "qualified", "contacted", "converted", "archived")
PIPELINE = ("new", "qualified", "contacted", "converted")  # forward order; archived apart
PHASE_STATUS = {
    **dict.fromkeys(("greeting", "collect_name", "salam_kenal", "collect_domisili"), "new"),
    **dict.fromkeys(
        ("listening", "summarize", "validate_pain_points", "discover_interest"), "qualified"
    ),
    **dict.fromkeys(("solution_match", "close_attempt", "handoff"), "contacted"),
    "completed": "converted",
}
LOST = ("lost", "not_interested", "rejected")
DEFAULT_RANKS = {"human": 3, "brain": 2, "import": 1, "sarah": 1}


@dataclass(frozen=True)
class PolicySpec:
    """The policy file as read-models.md defines it: missing keys take the defaults,
    `[ranks]` ranks every status source (a partial table is refused; the tests' policies
    list each one), a source not listed ranks 0."""

    ranks: dict[str, int]
    forward_only: frozenset[str]
    hold: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> PolicySpec:
        doc = tomllib.loads(text)
        return cls(
            ranks=dict(doc.get("ranks", DEFAULT_RANKS)),
            forward_only=frozenset(doc.get("forward_only", ["sarah"])),
            hold=frozenset(doc.get("hold", ["human"])),
        )

    def rank(self, source: str | None) -> int:
        return 0 if source is None else self.ranks.get(source, 0)


@dataclass(frozen=True)
class Holder:
    """The status and who set it. A lead starts as `new`, set by nobody."""

    status: str = "new"
    source: str | None = None
    held: bool = False
    at: datetime | None = None
    by: str | None = None


@dataclass(frozen=True)
class Proposal:
    """One status-history row as the oracle predicts it."""

    source: str
    from_status: str
    to_status: str
    outcome: str
    suppressed_because: str | None  # only suppressions' reasons are documented


def is_blank(value: Any) -> bool:
    """ "a null, missing, empty-string or empty-list value ... never erases"."""
    return value is None or value == "" or value == []


@dataclass
class LeadModel:
    policy: PolicySpec
    created_at: datetime
    holder: Holder = Holder()
    extracted: dict[str, Any] = field(default_factory=dict)
    chat_phase: str | None = None
    lead_score: int | None = None
    lead_temperature: str | None = None
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_contact_at: datetime | None = None
    inbound_count: int = 0
    outbound_count: int = 0
    history: list[Proposal] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # source, actor, content
    message_ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    # When each merged value was said: Sarah's extracted keys, and the view's own values.
    extracted_at: dict[str, datetime] = field(default_factory=dict)
    value_at: dict[str, datetime] = field(default_factory=dict)

    # -- facts -------------------------------------------------------------------------

    def message(self, message_id: str, inbound: bool, human: bool, at: datetime) -> bool:
        """One WhatsApp message (deduplicated on its id, architecture.md "Dedup"). Times keep
        the latest: an out-of-order delivery must not move them back (reliability.md)."""
        if message_id in self.message_ids:
            return False
        self.message_ids.add(message_id)
        self.last_message_at = latest(self.last_message_at, at)
        if inbound:
            self.inbound_count += 1
            self.last_inbound_at = latest(self.last_inbound_at, at)
        else:
            self.outbound_count += 1
            self.last_outbound_at = latest(self.last_outbound_at, at)
            if human:
                self.last_contact_at = latest(self.last_contact_at, at)
        return True

    def sarah(
        self,
        phase: str,
        extracted: dict[str, Any],
        score: int | None,
        temperature: str | None,
        outcome: str | None,
        at: datetime,
    ) -> None:
        # "decided by the source's time ... an older statement never replaces a newer one;
        # at equal times the later arrival wins" (read-models.md, Rules: Merge).
        for key, value in extracted.items():
            if not is_blank(value) and not_older(self.extracted_at.get(key), at):
                self.extracted[key], self.extracted_at[key] = value, at
        if not_older(self.value_at.get("chat_phase"), at):
            self.chat_phase, self.value_at["chat_phase"] = phase, at
        if score is not None and not_older(self.value_at.get("lead_score"), at):
            self.lead_score, self.value_at["lead_score"] = score, at
        if temperature and not_older(self.value_at.get("lead_temperature"), at):
            self.lead_temperature, self.value_at["lead_temperature"] = temperature, at
        target = PHASE_STATUS[phase]
        if target == "converted" and outcome in LOST:
            target = "archived"
        self.propose(target, "sarah", "sarah-bot", at)

    def request(self, status: str, source: str, actor: str, at: datetime) -> None:
        if source == "human":
            self.last_contact_at = latest(self.last_contact_at, at)
        self.propose(status, source, actor, at)

    def release(self) -> None:
        """A human release lifts the hold; it is in the history too ("every release")."""
        self.history.append(
            Proposal("human", self.holder.status, self.holder.status, "release", None)
        )
        self.holder = Holder(**{**self.holder.__dict__, "held": False})

    def note(self, source: str, actor: str, content: str, at: datetime) -> None:
        self.notes.append((source, actor, content))
        if source == "human":
            self.last_contact_at = latest(self.last_contact_at, at)

    # -- the source-priority policy, in the documented order ----------------------------

    def propose(self, to: str, source: str, actor: str, at: datetime) -> None:
        outcome, because = self.judge(to, source, at)
        self.history.append(Proposal(source, self.holder.status, to, outcome, because))
        claimed = Holder(to, source, source in self.policy.hold, at, actor)
        if outcome == "applied" or (outcome == "no_change" and self.takes_over(claimed)):
            self.holder = claimed

    def judge(self, to: str, source: str, at: datetime) -> tuple[str, str | None]:
        holder, rank, guard = self.holder, self.policy.rank(source), self.guard()
        if to not in STATUSES:
            return "suppressed", "unknown_status"
        if holder.held and source not in self.policy.hold:
            return "suppressed", "held_by_human"
        if rank < guard:
            return "suppressed", "lower_priority"
        if rank == guard and holder.at is not None and at < holder.at:
            return "suppressed", "stale"
        if to == holder.status:
            return "no_change", None
        if source in self.policy.forward_only and not forward(holder.status, to):
            return "suppressed", "backward_move"
        return "applied", None

    def guard(self) -> int:
        """The rank protecting the status: none before anybody set it, none once a hold
        source's status is released ("so bots may move the status again")."""
        holder = self.holder
        if holder.source is None or (holder.source in self.policy.hold and not holder.held):
            return 0
        return self.policy.rank(holder.source)

    def takes_over(self, claimed: Holder) -> bool:
        """Restating the current status changes nothing, but a higher source (or a hold
        source) restating it becomes its guard: a human's "keep it new" holds."""
        return self.policy.rank(claimed.source) > self.guard() or (
            claimed.held and not self.holder.held
        )


def forward(current: str, to: str) -> bool:
    """new -> qualified -> contacted -> converted; archived from anywhere, never out."""
    if to == "archived":
        return True
    if current == "archived":
        return False
    return PIPELINE.index(to) >= PIPELINE.index(current)


def not_older(held: datetime | None, at: datetime) -> bool:
    return held is None or at >= held


def latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current
