"""The conversation state (AI-mode control), by the sources' time of its changes.

`conversation_status` is never derived from `lead_status`. Three kinds of change are kept
with the latest source time of each (`source_times`): `opened` (Kapso's conversation
created), `closed` (ended or inactive) and `handover` (Sarah's `handoff` phase, a human's
outbound message). The status is what the changes say in time order: a handover holds
until a later close; after a close, a later opening opens it again; an opening does not end
a handover. At equal times a handover beats a close, and a close beats an opening. A first
message implies `open` when nothing else was said. Computed from the kept times, so the
status is the same in any arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from domain.reducer.contact_view import ContactView, replace
from domain.reducer.source_times import latest_of, stamp

Change = Literal["opened", "closed", "handover"]
ConversationStatus = Literal["open", "closed", "handover"]


def changed(view: ContactView, change: Change, at: datetime) -> ContactView:
    times = latest_of(view.source_times, f"conversation.{change}", stamp(at))
    return replace(view, source_times=times, conversation_status=status_of(times))


def status_of(times: Mapping[str, Any]) -> ConversationStatus:
    closed = times.get("conversation.closed")
    handover = times.get("conversation.handover")
    opened = times.get("conversation.opened")
    if handover is not None and (closed is None or handover >= closed):
        return "handover"
    if closed is not None and (opened is None or opened <= closed):
        return "closed"
    return "open"
