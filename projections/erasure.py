"""What an erasure blanks in the stored rows of a lead (the contact view is the reducer's).

Message ids become their pseudonyms (domain/personal.py); message texts, note contents and
the reasons given with status requests and imports come from sealed fields and are blanked,
so the live rows end where a rebuild from the shredded events ends (texts NULL, notes '',
those reasons NULL). Sarah's reasons derive from her phase and outcome, in clear: they stay.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from domain.personal import pseudonym
from projections.tables import ViewTables

DERIVED_REASON_ORIGINS = ("sarah_phase",)


def blank_erased(conn: Connection, tables: ViewTables, lead_ids: Iterable[str]) -> None:
    leads = sorted(set(lead_ids))
    if not leads:
        return
    m, n, h = tables.messages, tables.notes, tables.history
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
    conn.execute(
        update(h)
        .where(h.c.lead_id.in_(leads), h.c.origin.not_in(DERIVED_REASON_ORIGINS))
        .values(reason=None)
    )
