"""WhatsApp messages, their delivery statuses, conversation changes and notes.

- `conversation_status` (domain/reducer/conversation.py): `opened` -> open (the first
  message also implies open), `ended`/`inactive` -> closed, a human's outbound message ->
  handover, each by its source time.
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
from domain.reducer import content, conversation
from domain.reducer.contact_view import (
    ContactView,
    Effects,
    MessageEntry,
    NoteEntry,
    latest,
    principal_columns,
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
    view = content.with_inbound_content(view, event, fact)
    return Effects(view, messages=_entries(view, event, fact, "inbound", state))


def outbound(
    view: ContactView, event: LedgerEvent, fact: OutboundMessageSent, state: Messages
) -> Effects:
    at = event.at
    echo = content.field(fact, "echo") is True
    human = echo or text(fact.source) == Source.HUMAN or text(fact.origin) in HUMAN_ORIGINS
    known = state.get(text(fact.message_id) or "")
    # A message first known from its status report was counted then (`message_status`).
    counted = known is not None and known.at is None and known.direction == "outbound"
    view = replace(
        view,
        outbound_count=view.outbound_count + (0 if counted else 1),
        last_outbound_at=latest(view.last_outbound_at, at),
        last_message_at=latest(view.last_message_at, at),
        last_contact_at=latest(view.last_contact_at, at) if human else view.last_contact_at,
        conversation_status=view.conversation_status or "open",
    )
    if human:
        view = conversation.changed(view, "handover", at)
    return Effects(view, messages=_entries(view, event, fact, "outbound", state))


def message_status(
    view: ContactView, event: LedgerEvent, fact: MessageStatusChanged, state: Messages
) -> Effects:
    message_id = text(fact.message_id) or ""
    entry = state.get(message_id)
    if entry is None:
        # Statuses are reported for our own messages only: one known only from its status
        # is outbound, and counted as such (once: `outbound` does not count it again).
        entry = MessageEntry(view.lead_id, message_id, direction="outbound")
        view = replace(view, outbound_count=view.outbound_count + 1)
    status, at = text(fact.status) or "", event.at
    if _outranks(status, at, entry):
        code, title = _error_code(fact.error_code), text(fact.error_title)
        if code is None:
            code, title = _first_error(content.field(fact, "errors"))
        entry = replace(entry, status=status, status_at=at, error_code=code, error_title=title)
    return Effects(view, messages=[entry])


def conversation_changed(
    view: ContactView, event: LedgerEvent, fact: ConversationChanged
) -> Effects:
    change = text(fact.change)
    if change == "opened":
        return Effects(conversation.changed(view, "opened", event.at))
    if change in ("ended", "inactive"):
        return Effects(conversation.changed(view, "closed", event.at))
    return Effects(view)  # a change this code does not know says nothing about the status


def note(view: ContactView, event: LedgerEvent, fact: NoteAdded) -> Effects:
    source, actor = text(fact.source) or "", text(fact.actor) or ""
    content = str(fact.content or "")
    added = NoteEntry(
        view.lead_id,
        event.position,
        event.at,
        actor,
        source,
        content,
        **principal_columns(fact.principal),
    )
    if source == Source.HUMAN:
        view = replace(view, last_contact_at=latest(view.last_contact_at, event.at))
    return Effects(view, notes=[added])


def _entries(
    view: ContactView,
    event: LedgerEvent,
    fact: InboundMessageReceived | OutboundMessageSent,
    direction: str,
    state: Messages,
) -> list[MessageEntry]:
    """The message's own entry, or, for a reaction, edit or revoke, the entry of the
    message it is about (made if that message has not arrived yet)."""
    message_type = text(fact.message_type)
    if message_type not in content.ABOUT_ANOTHER_MESSAGE:
        return [_message(view, event, fact, direction, state)]
    target = content.target_message_id(fact, message_type)
    if target is None:  # shredded, or malformed: nothing to attach it to
        return []
    entry = state.get(target) or MessageEntry(view.lead_id, target)
    return [content.about_message(entry, fact, message_type, direction, content.iso(event.at))]


def _message(
    view: ContactView,
    event: LedgerEvent,
    fact: InboundMessageReceived | OutboundMessageSent,
    direction: str,
    state: Messages,
) -> MessageEntry:
    message_id = text(fact.message_id) or ""
    # A status, reaction or edit that arrived first already made an entry: keep what it
    # says (an edit's text stays shown, this one becomes the original), add the message.
    entry = state.get(message_id) or MessageEntry(view.lead_id, message_id)
    said = text(fact.text)
    shown, original = (entry.text, said) if entry.edited else (said, entry.original_text)
    return replace(
        entry,
        direction=direction,
        type=text(fact.message_type),
        text=shown,
        original_text=original,
        at=event.at,
        echo=content.field(fact, "echo") is True,
    )


def named_messages(event: LedgerEvent) -> list[str]:
    """The message ids whose stored entries folding `event` needs (its own, and the one a
    reaction, edit or revoke is about): the writer loads just these."""
    fact = event.fact
    if not isinstance(fact, InboundMessageReceived | OutboundMessageSent | MessageStatusChanged):
        return []
    found = [text(fact.message_id)]
    if not isinstance(fact, MessageStatusChanged):
        found.append(content.target_message_id(fact, text(fact.message_type)))
    return [m for m in found if m]


def _first_error(errors: Any) -> tuple[int | None, str | None]:
    """(code, title) of a status report's first error (`errors`, kept verbatim)."""
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, Mapping):
        return None, None
    return _error_code(first.get("code")), text(first.get("title"))


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
