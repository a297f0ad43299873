"""What an erasure blanks in the stored rows of a lead (the contact view is the reducer's).

Message ids become their pseudonyms (domain/personal.py); message texts, note contents and
the reasons given with status requests and imports come from sealed fields and are blanked,
so the live rows end where a rebuild from the shredded events ends (texts NULL, notes '',
those reasons NULL); the change feed's items lose their personal part (below). Sarah's reasons
derive from her phase and outcome, in clear: they stay.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select, update

from domain.personal import pseudonym
from projections.tables import ViewTables

DERIVED_REASON_ORIGINS = ("sarah_phase",)


def blank_erased(conn: Connection, tables: ViewTables, lead_ids: Iterable[str]) -> None:
    leads = sorted(set(lead_ids))
    if not leads:
        return
    m, n, h, c = tables.messages, tables.notes, tables.history, tables.changes
    # Reactions, edits and revokes name their message in sealed content: once shredded, a
    # rebuild cannot attach them, so the live rows drop them too.
    conn.execute(
        update(m)
        .where(m.c.lead_id.in_(leads))
        .values(text=None, original_text=None, reactions=None, edited=False, deleted=False)
    )
    # Message ids embed the phone: the rows keep the pseudonym a rebuild reads.
    ids = conn.execute(select(m.c.lead_id, m.c.message_id).where(m.c.lead_id.in_(leads)))
    for lead_id, message_id in ids.all():
        conn.execute(
            update(m)
            .where(m.c.lead_id == lead_id, m.c.message_id == message_id)
            .values(message_id=pseudonym(message_id))
        )
    conn.execute(update(n).where(n.c.lead_id.in_(leads)).values(content=""))
    # The change feed's personal part (texts, names, message ids, Sarah's data) goes whole,
    # and so do `lead.updated` items that changed personal fields only: a rebuild reads
    # those fields shredded, sees nothing change and has no such item (same ids, same items).
    conn.execute(update(c).where(c.c.lead_id.in_(leads)).values(personal=None))
    updates = conn.execute(
        select(c.c.position, c.c.seq, c.c.data).where(
            c.c.lead_id.in_(leads), c.c.type == "lead.updated"
        )
    )
    for position, seq, data in updates.all():
        if not (data or {}).get("fields"):
            conn.execute(delete(c).where(c.c.position == position, c.c.seq == seq))
    conn.execute(
        update(h)
        .where(h.c.lead_id.in_(leads), h.c.origin.not_in(DERIVED_REASON_ORIGINS))
        .values(reason=None)
    )
