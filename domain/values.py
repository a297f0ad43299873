"""Value types shared by events, rules and the edges. Stored in events as plain strings."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    """Who said a fact."""

    KAPSO = "kapso"
    META = "meta"
    SARAH = "sarah"
    BRAIN = "brain"
    HUMAN = "human"
    IMPORT = "import"


class LeadStatus(StrEnum):
    """Sales pipeline stage (never the conversation's state)."""

    NEW = "new"
    QUALIFIED = "qualified"
    CONTACTED = "contacted"
    CONVERTED = "converted"
    ARCHIVED = "archived"


class Temperature(StrEnum):
    HOT = "hot"
    WARM = "warm"
    LUKEWARM = "lukewarm"
    COLD = "cold"


class ChatPhase(StrEnum):
    """Sarah's conversation phases, in the order she moves through them."""

    GREETING = "greeting"
    COLLECT_NAME = "collect_name"
    SALAM_KENAL = "salam_kenal"
    COLLECT_DOMISILI = "collect_domisili"
    LISTENING = "listening"
    SUMMARIZE = "summarize"
    VALIDATE_PAIN_POINTS = "validate_pain_points"
    DISCOVER_INTEREST = "discover_interest"
    SOLUTION_MATCH = "solution_match"
    CLOSE_ATTEMPT = "close_attempt"
    HANDOFF = "handoff"
    COMPLETED = "completed"
