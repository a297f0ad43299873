"""Folding a lead's events into its contact view state: `apply` one, `replay` many.

The SQL projection, `as_of` replays and the tests all call `apply`, so "replay = live" holds
by construction. It matches on the typed events (domain/lead_events.py), so a renamed field
is a type error here. Choices, and why:

- A lead starts as `new` with no `status_source` (the seed: a lead starts as new), so any
  source may claim it; `status_updated_*` stay empty until a source sets a status.
- Time fields use the source's time (`occurred_at`, else `received_at`) and keep the
  latest, so late deliveries never move them back; `updated_at` is the store's time.
  Values several sources say (name, score, temperature, phase, Sarah's fields, the
  conversation) keep the newest statement by that time (source_times.py).
- Replaying an already-applied event (position <= version) changes nothing. A hold
  release changes the status state only: history rows are status proposals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.lead_events import (
    ContactImported,
    ContactNameReported,
    ConversationChanged,
    IdentityLinked,
    InboundMessageReceived,
    MessageStatusChanged,
    NoteAdded,
    OutboundMessageSent,
    PersonalDataErased,
    Registered,
    SarahPhaseReported,
    StatusHoldReleased,
    StatusRequested,
)
from domain.policy import Policy
from domain.reducer import identities, messages, sarah, status
from domain.reducer.contact_view import (
    ContactView,
    Effects,
    MessageEntry,
    NoteEntry,
    StatusHistoryEntry,
    replace,
)
from domain.reducer.ledger_event import LedgerEvent
from domain.reducer.source_times import after_erasure, newer_values
from domain.reducer.values import text

# What an erasure blanks in the contact view: whatever came from sealed (personal) fields.
PERSONAL_COLUMNS = (
    "phone",
    "name",
    "sarah_name",
    "business_type",
    "domisili",
    "business_duration",
    "pain_points",
    "priority",
    "urgency_level",
    "lead_score",
    "lead_temperature",
    "closing_technique_used",
    "objection_raised",
    "wa_user_id",
    "username",
    "linked_identities",
    "first_referral",
    "last_referral",
    "flow_answers",
    "last_location",
)


def apply(
    view: ContactView | None,
    event: LedgerEvent,
    policy: Policy,
    message_state: Mapping[str, MessageEntry] | None = None,
) -> Effects:
    """Fold one event into a lead's view. `message_state`: the lead's stored message entries
    (at least the one this event names), so a status can build on its message."""
    fact = event.fact
    if view is None:
        if not isinstance(fact, Registered):
            raise ValueError(f"lead {event.lead_id}: first event is {event.type}, not Registered")
        return Effects(_registered(event, fact))
    if event.lead_id != view.lead_id:
        raise ValueError(f"event of lead {event.lead_id} applied to lead {view.lead_id}")
    if event.position <= view.version:
        return Effects(view)
    moved = replace(view, version=event.position, updated_at=event.recorded_at)
    state = message_state or {}
    # Handlers are looked up on their modules at call time (tests may wrap one).
    match fact:
        case InboundMessageReceived():
            return messages.inbound(moved, event, fact, state)
        case OutboundMessageSent():
            return messages.outbound(moved, event, fact, state)
        case MessageStatusChanged():
            return messages.message_status(moved, event, fact, state)
        case ConversationChanged():
            return messages.conversation_changed(moved, event, fact)
        case NoteAdded():
            return messages.note(moved, event, fact)
        case ContactNameReported():
            return Effects(newer_values(moved, {"name": text(fact.name)}, event))
        case SarahPhaseReported():
            return sarah.sarah_phase(moved, event, fact, policy)
        case StatusRequested():
            return status.status_requested(moved, event, fact, policy)
        case StatusHoldReleased():
            return status.hold_released(moved, event, fact)
        case ContactImported():
            return status.contact_imported(moved, event, fact, policy)
        case IdentityLinked():
            return Effects(identities.identity_linked(moved, fact))
        case PersonalDataErased():
            return _personal_data_erased(moved, event, fact)
        case _:
            # A type this code does not know yet only advances the version (it stays in
            # the log); a second Registered changes nothing either.
            return Effects(moved)


def replay(
    events: Iterable[LedgerEvent],
    policy: Policy,
) -> tuple[ContactView | None, list[StatusHistoryEntry], list[NoteEntry], dict[str, MessageEntry]]:
    """Fold a lead's events from scratch (an `as_of` view is a replay of a prefix)."""
    view: ContactView | None = None
    history: list[StatusHistoryEntry] = []
    notes: list[NoteEntry] = []
    found: dict[str, MessageEntry] = {}
    for event in events:
        effects = apply(view, event, policy, found)
        view = effects.view
        history += effects.history
        notes += effects.notes
        found.update((m.message_id, m) for m in effects.messages)
    return view, history, notes, found


def _registered(event: LedgerEvent, fact: Registered) -> ContactView:
    # `phone` holds the lead's key: an E.164 phone, or a BSUID or username (prefixed);
    # None when the lead's data was erased.
    return ContactView(
        lead_id=event.lead_id,
        workspace=str(fact.workspace),
        created_at=event.at,
        updated_at=event.recorded_at,
        version=event.position,
        **identities.key_columns(text(fact.phone)),
    )


def _personal_data_erased(
    view: ContactView, event: LedgerEvent, fact: PersonalDataErased
) -> Effects:
    """The audit skeleton stays (status, phase, counts, times); the person's data goes,
    here and, through `erased`, in the lead's stored messages, notes and reasons. A
    rebuild reads the same events already shredded and so ends in the same rows."""
    blank: dict[str, Any] = dict.fromkeys(PERSONAL_COLUMNS)
    erased = replace(
        view,
        **blank,
        extracted={},
        source_times=after_erasure(view.source_times),
        erased_at=event.at,
        erased_by=text(fact.actor),
        erasure_reason=text(fact.reason),
    )
    return Effects(erased, erased=True)
