"""What the policy made of a status, release or note command: read back from the views
once they include it (read-your-writes), with the lead right after it. Every part of the
answer is fixed by the command's position, so a retry under the same Idempotency-Key is
answered exactly as the first request was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sqlalchemy import Connection

from adapters.eventstore.store import LedgerStore
from domain.reducer import ContactView, NoteEntry, StatusHistoryEntry
from projections import queries
from projections.as_of import lead_at_position
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
    # A retry under the first request's Idempotency-Key: the answer is the first one's
    # (`appended` included); the HTTP API says so in `Idempotent-Replayed: true`.
    replayed: bool = False


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
    if view is not None and position is not None and view.version != position:
        # Later events of the lead are in the views already: the answer shows the lead
        # right after this command, so a replay answers exactly as the first time did.
        view = lead_at_position(engines.read, store, workspace, fact.lead_id, position)
    outcome, reason = None, None
    if change is not None:
        outcome, reason = change.outcome, change.outcome_reason
    elif note is not None:
        outcome, reason = "applied", "note_added"
    replayed = not fact.appended and key is not None and position is not None
    return CommandOutcome(
        fact.lead_id,
        fact.fact,
        fact.appended or replayed,
        position,
        outcome,
        reason,
        change,
        note,
        view,
        replayed,
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
