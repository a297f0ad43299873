"""What the ledger holds: its size, and how many times each fact is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from domain.identity import lead_id_for
from service_layer.bootstrap import Services
from tests.support.workspaces import WORKSPACE

FactKey = tuple[str, str, str | None, str | None]  # (E.164 phone, event type, id, detail)


def ledger_size(services: Services) -> int:
    """How many events the ledger holds (max notification id; 0 when empty)."""
    return int(services.store.recorder.max_notification_id() or 0)


def ledger_count(services: Services, limit: int = 100_000) -> int:
    """How many events the ledger holds, counted (PostgreSQL's ids have gaps after conflicts,
    so ledger_size is an upper bound there once writers have collided)."""
    return len(services.store.recorder.select_notifications(start=None, limit=limit))


def fact_key(e164: str, event: Any) -> FactKey:
    """What makes a stored lead event one fact."""
    name = type(event).__name__
    if name in ("InboundMessageReceived", "OutboundMessageSent"):
        return (e164, name, event.message_id, None)
    if name == "MessageStatusChanged":
        return (e164, name, event.message_id, event.status)
    if name == "ConversationChanged":
        return (e164, name, event.conversation_id, event.change)
    if name == "ContactNameReported":
        return (e164, name, event.name, None)
    if name == "Registered":
        return (e164, name, event.phone, event.workspace)
    return (e164, name, None, None)


def fact_counts(
    services: Services, phones: Sequence[str], workspace: str = WORKSPACE
) -> Counter[FactKey]:
    """How many times each fact is stored on the leads of these E.164 phones."""
    counts: Counter[FactKey] = Counter()
    for e164 in phones:
        counts.update(
            fact_key(e164, e) for e in services.store.events.get(lead_id_for(workspace, e164))
        )
    return counts
