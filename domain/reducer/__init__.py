"""The read side's one reducer: a lead's events folded into its contact view state.

`fold` dispatches on the typed events; `contact_view` holds the state and the rows an event
adds; `status` (proposals under the policy), `sarah` (phase reports) and `messages`
(messages, statuses, conversations, notes) hold what each kind of event does.
"""

from domain.reducer.contact_view import (
    ContactView,
    Effects,
    MessageEntry,
    NoteEntry,
    StatusHistoryEntry,
)
from domain.reducer.fold import PERSONAL_COLUMNS, apply, replay
from domain.reducer.ledger_event import LedgerEvent

__all__ = [
    "PERSONAL_COLUMNS",
    "ContactView",
    "Effects",
    "LedgerEvent",
    "MessageEntry",
    "NoteEntry",
    "StatusHistoryEntry",
    "apply",
    "replay",
]
