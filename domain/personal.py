"""Which stored fields are personal data: everything but a whitelisted audit skeleton.

The rule is a whitelist on purpose: a field someone adds to an event later is personal
(sealed with the lead's key, see adapters/eventstore/sealing.py) until someone decides
otherwise here.
What stays in clear is what an audit needs after an erasure: which kind of fact, when,
from which source and actor, message ids and statuses, phases, lead statuses, and the
erasure itself. The table is documented in docs/erasure.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

# Provenance every lead event carries (domain/envelope.py) plus eventsourcing's own fields.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "class_version",
        "source",
        "actor",
        "received_at",
        "occurred_at",
        "idempotency_key",
        # Who held the API key of a command (name, role, key id): staff, not the lead.
        "principal",
    }
)

# Per Lead event (class name): the fields that stay in clear besides the envelope.
AUDIT_FIELDS: Mapping[str, frozenset[str]] = {
    "Registered": frozenset({"workspace"}),
    "InboundMessageReceived": frozenset({"message_type", "conversation_id"}),
    "OutboundMessageSent": frozenset({"message_type", "origin", "conversation_id"}),
    "MessageStatusChanged": frozenset({"status", "error_code", "error_title"}),
    "ConversationChanged": frozenset({"conversation_id", "change"}),
    "ContactNameReported": frozenset(),
    # Phase and outcome decide the lead's status: they stay, so a rebuild after an erasure
    # derives the same statuses. Extracted data, score and temperature are the person's.
    "SarahPhaseReported": frozenset({"chat_phase", "outcome"}),
    "StatusRequested": frozenset({"status"}),
    "StatusHoldReleased": frozenset(),
    "NoteAdded": frozenset(),
    # A row of the previous system: what decides the status stays (`changed` names field
    # groups; `status`: v1 rows only); the legacy id (it may be "phone:<E.164>"), names,
    # scores and metadata go.
    "ContactImported": frozenset({"changed", "status", "legacy_status", "legacy_created_at"}),
    "PersonalDataErased": frozenset({"reason"}),
    # Which kind of id was linked, why, and the holding lead's id (a lead id is in clear
    # anyway); the id itself (a phone, a BSUID, a username) is the person's.
    "IdentityLinked": frozenset({"kind", "reason", "held_by"}),
}

# An unhandled delivery (domain/delivery.py) is kept raw: its headers and body, and the facts
# a re-ingestion made of it, may hold anyone's data. Which kind of delivery, when and why
# stays.
DELIVERY_AUDIT_FIELDS: Mapping[str, frozenset[str]] = {
    "Kept": frozenset({"workspace", "key", "channel", "event_type", "reason", "received_at"}),
    "Reingested": frozenset({"at"}),
}

# Personal, but the audit needs to tell them apart and match a status to its message:
# WhatsApp message ids embed the person's phone (base64), so they are sealed, and a
# one-way pseudonym stays in clear (it has a random part: knowing the phone is not enough).
PSEUDONYMISED = frozenset({"message_id"})
PSEUDONYM_PREFIX = "erased:"

# A Lead snapshot's aggregate state (`erased_at`: only in snapshots of older code).
# `facts` (dedup keys) is sealed too: imported rows' keys can hold a phone. Once shredded
# it becomes {} (an erased lead takes no new facts).
SNAPSHOT_AUDIT_FIELDS = frozenset(
    {"_created_on", "_modified_on", "class_version", "workspace", "erased", "erased_at"}
)
SNAPSHOT_REDACTED: Mapping[str, Any] = {"facts": {}}


def personal_fields(event_name: str, names: Iterable[str]) -> list[str]:
    """The personal ones among a Lead event's stored field names (sorted, stable)."""
    return list(_personal_fields(event_name, tuple(names)))


@lru_cache(maxsize=1024)  # an event class has one or two field sets: asked once per event
def _personal_fields(event_name: str, names: tuple[str, ...]) -> tuple[str, ...]:
    audit = AUDIT_FIELDS.get(event_name, frozenset())
    return tuple(sorted(n for n in names if n not in ENVELOPE and n not in audit))


def personal_delivery_fields(event_name: str, names: Iterable[str]) -> list[str]:
    """The personal ones among an unhandled delivery event's stored field names."""
    audit = DELIVERY_AUDIT_FIELDS.get(event_name, frozenset())
    return sorted(n for n in names if n not in ENVELOPE and n not in audit)


def personal_snapshot_fields(names: Iterable[str]) -> list[str]:
    """The personal ones among a Lead snapshot's aggregate attributes."""
    return sorted(n for n in names if n not in SNAPSHOT_AUDIT_FIELDS)


def redacted_event_fields(names: Iterable[str]) -> dict[str, Any]:
    """What a shredded event's personal fields read as: None (every consumer takes it)."""
    return dict.fromkeys(names)


def redacted_snapshot_fields(names: Iterable[str]) -> dict[str, Any]:
    """What a shredded snapshot's attributes read as: None, or an empty `facts`."""
    return {n: type(SNAPSHOT_REDACTED[n])() if n in SNAPSHOT_REDACTED else None for n in names}


def pseudonym(value: str) -> str:
    """The clear stand-in for a sealed id once its lead is erased (idempotent)."""
    if value.startswith(PSEUDONYM_PREFIX):
        return value
    return PSEUDONYM_PREFIX + hashlib.sha256(value.encode()).hexdigest()[:32]


def pseudonyms(values: Mapping[str, Any]) -> dict[str, str]:
    """The pseudonyms kept in clear for these personal values."""
    return {
        name: pseudonym(value)
        for name, value in values.items()
        if name in PSEUDONYMISED and isinstance(value, str)
    }
