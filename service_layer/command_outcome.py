"""What the policy made of a status, release or note command: read back from the views
once they include it (read-your-writes), with the lead after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sqlalchemy import Connection

from adapters.eventstore.store import LedgerStore
from domain.reducer import ContactView, NoteEntry, StatusHistoryEntry
from projections import queries
from projections.catchup import LiveViews
from projections.database import Engines
from projections.source import head
from projections.tables import ViewTables
from service_layer.ledger_batch import Recording

LeadCommandKind = Literal["status", "release", "note"]


@dataclass(frozen=True)
class CommandOutcome:
    lead_id: UUID
    fact: str
    appended: bool
    position: int | None  # the command's event on the lead (None: not found again)
    outcome: str | None
    outcome_reason: str | None
    status_change: StatusHistoryEntry | None
    note: NoteEntry | None
    lead: ContactView | None


def command_outcome(
    store: LedgerStore,
    views: LiveViews,
    engines: Engines,
    workspace: str,
    recording: Recording,
    kind: LeadCommandKind,
    key: str | None,
) -> CommandOutcome:
    """Wait until the views include the command, then read its decision and the lead."""
    fact = recording.facts[0]
    nid = recording.last_notification_id
    # A retry that appended nothing: the original is somewhere before the head.
    views.wait_for(nid if nid is not None else head(store))
    position = _position(store, fact.lead_id, nid, key)

    def read(
        conn: Connection, t: ViewTables
    ) -> tuple[ContactView | None, StatusHistoryEntry | None, NoteEntry | None]:
        view = queries.get_view(conn, t, workspace, fact.lead_id)
        if view is None or position is None or view.version < position:
            return view, None, None
        # A release is in the status history too, with its own outcome (not_held: no_change).
        changes = queries.status_history(conn, t, view, position) if kind != "note" else []
        notes = queries.notes(conn, t, view, position) if kind == "note" else []
        return view, changes[0] if changes else None, notes[0] if notes else None

    view, change, note = queries.read_views(engines.read, read)
    outcome, reason = None, None
    if change is not None:
        outcome, reason = change.outcome, change.outcome_reason
    elif note is not None:
        outcome, reason = "applied", "note_added"
    return CommandOutcome(
        fact.lead_id, fact.fact, fact.appended, position, outcome, reason, change, note, view
    )


def _position(store: LedgerStore, lead_id: UUID, nid: int | None, key: str | None) -> int | None:
    """The command's event position on the lead: the event just appended, or (a retry)
    the earlier event recorded with the same idempotency key."""
    if nid is not None:
        for notification in store.recorder.select_notifications(start=nid, limit=1):
            event = store.mapper.to_domain_event(notification)
            if event.originator_id == lead_id:
                return int(event.originator_version)
        return None
    if key is None:
        return None
    for event in store.events.get(lead_id, desc=True):
        if getattr(event, "idempotency_key", None) == key:
            return int(event.originator_version)
    return None
