"""WhatsApp messages, their delivery statuses, conversation changes and notes.

- `conversation_status` is AI-mode control, never derived from `lead_status`: `opened` ->
  open (the first message also implies open), `ended`/`inactive` -> closed, Sarah's
  `handoff` phase or a human's outbound message -> handover. A late `opened` does not end a
  handover; only a closed conversation does.
- `last_contact_at` (last human interaction): a human note, status request or outbound
  message.
- Message statuses only move forward: sent < failed < delivered < read < played. Proof of
  delivery beats a failure report; on a tie the earliest report wins. The final entry is
  the same in any arrival order, even when a status comes before its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.lead_events import (
    ConversationChanged,
    InboundMessageReceived,
    MessageStatusChanged,
    NoteAdded,
    OutboundMessageSent,
)
from domain.reducer.contact_view import (
    ContactView,
    Effects,
    MessageEntry,
    NoteEntry,
    latest,
    replace,
)
from domain.reducer.ledger_event import LedgerEvent
from domain.reducer.values import number, text
from domain.values import Source

# Outbound `origin`s meaning a person typed it (an assumption: Kapso's list is not in the
# samples, which only show "cloud_api"); a `human` source counts too.
HUMAN_ORIGINS = frozenset({"human", "agent", "inbox", "business_app"})
MESSAGE_STATUS_RANK: Mapping[str, int] = {
    "sent": 1,
    "failed": 2,
    "delivered": 3,
    "read": 4,
    "played": 5,
}
Messages = Mapping[str, MessageEntry]  # the lead's stored entries, by message id


def inbound(
    view: ContactView, event: LedgerEvent, fact: InboundMessageReceived, state: Messages
) -> Effects:
    at = event.at
    view = replace(
        view,
        inbound_count=view.inbound_count + 1,
        last_inbound_at=latest(view.last_inbound_at, at),
        last_message_at=latest(view.last_message_at, at),
        conversation_status=view.conversation_status or "open",
    )
    entry = _message(view, event, fact, "inbound", state)
    return Effects(view, messages=[entry])


def outbound(
    view: ContactView, event: LedgerEvent, fact: OutboundMessageSent, state: Messages
) -> Effects:
    at = event.at
    human = text(fact.source) == Source.HUMAN or text(fact.origin) in HUMAN_ORIGINS
    view = replace(
        view,
        outbound_count=view.outbound_count + 1,
        last_outbound_at=latest(view.last_outbound_at, at),
        last_message_at=latest(view.last_message_at, at),
        last_contact_at=latest(view.last_contact_at, at) if human else view.last_contact_at,
        conversation_status="handover" if human else view.conversation_status or "open",
    )
    entry = _message(view, event, fact, "outbound", state)
    return Effects(view, messages=[entry])


def message_status(
    view: ContactView, event: LedgerEvent, fact: MessageStatusChanged, state: Messages
) -> Effects:
    message_id = text(fact.message_id) or ""
    entry = state.get(message_id) or MessageEntry(view.lead_id, message_id)
    status, at = text(fact.status) or "", event.at
    if _outranks(status, at, entry):
        code = _error_code(fact.error_code)
        entry = replace(entry, status=status, status_at=at, error_code=code)
    return Effects(view, messages=[entry])


def conversation(view: ContactView, event: LedgerEvent, fact: ConversationChanged) -> Effects:
    change, status, at = text(fact.change), view.conversation_status, event.at
    if view.conversation_at is not None and at < view.conversation_at:
        return Effects(view)  # older than the change we know of: it cannot undo it
    if change == "opened" and status != "handover":
        status = "open"
    elif change in ("ended", "inactive"):
        status = "closed"
    return Effects(replace(view, conversation_status=status, conversation_at=at))


def note(view: ContactView, event: LedgerEvent, fact: NoteAdded) -> Effects:
    source, actor = text(fact.source) or "", text(fact.actor) or ""
    content = str(fact.content or "")
    added = NoteEntry(view.lead_id, event.position, event.at, actor, source, content)
    if source == Source.HUMAN:
        view = replace(view, last_contact_at=latest(view.last_contact_at, event.at))
    return Effects(view, notes=[added])


def _message(
    view: ContactView,
    event: LedgerEvent,
    fact: InboundMessageReceived | OutboundMessageSent,
    direction: str,
    state: Messages,
) -> MessageEntry:
    message_id = text(fact.message_id) or ""
    # A status that arrived first already made an entry: keep its status, add the message.
    entry = state.get(message_id) or MessageEntry(view.lead_id, message_id)
    return replace(
        entry,
        direction=direction,
        type=text(fact.message_type),
        text=text(fact.text),
        at=event.at,
    )


def _outranks(status: str, at: datetime, entry: MessageEntry) -> bool:
    """Whether a reported status replaces the entry's: order-independent by design."""
    if entry.status is None:
        return True
    mine, theirs = MESSAGE_STATUS_RANK.get(status, 0), MESSAGE_STATUS_RANK.get(entry.status, 0)
    if mine != theirs:
        return mine > theirs
    if entry.status_at is not None and at != entry.status_at:
        return at < entry.status_at
    return status < entry.status


def _error_code(value: Any) -> int | None:
    """WhatsApp error codes are small; a value outside 32 bits is no code (and no SQL
    integer column on every backend could hold it)."""
    code = number(value, None)
    return code if code is not None and -(2**31) <= code < 2**31 else None
