"""Property: any sequence of imports of row versions keeps each fact once, and the view ends
with the last import's values (no other source speaks here).

Hypothesis draws up to five imports; each holds a version of a few legacy contacts (name,
legacy status, score, metadata; `updated_at` moves forward) and some notes from a small
pool (an id and one of two texts). Every import runs twice (the repeat must append nothing)
on a fresh in-memory ledger per example.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.legacy_import.mapping import DEFAULT_MAPPING
from adapters.legacy_import.readers import RawRow
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY
from domain.reducer import replay
from projections.source import lead_history
from service_layer.ledger import Ledger
from service_layer.legacy_import import LegacyImport
from tests.conftest import examples

WORKSPACE = "acme"
PHONES = {"c1": "+6281234567890", "c2": "+6285712345678", "c3": "+6281398765432"}
T0 = datetime(2024, 1, 1, tzinfo=UTC)

rows = st.fixed_dictionaries(
    {
        "kapso_name": st.sampled_from(["Budi", "Siti", "Rina"]),
        "lead_status": st.sampled_from(["hot", "warm", "cold", "client", "lost"]),
        "lead_score": st.integers(0, 100),
        "metadata": st.sampled_from([{}, {"source": "ig"}, {"source": "ads"}]),
    }
)
imports = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(sorted(PHONES)), rows, min_size=1),
        st.lists(st.tuples(st.sampled_from(["n1", "n2"]), st.sampled_from(["a", "b"]))),
    ),
    min_size=1,
    max_size=5,
)


def as_rows(file: str, items: list[dict[str, Any]]) -> list[RawRow]:
    return [RawRow(file, i + 1, "", data=item) for i, item in enumerate(items)]


@settings(max_examples=examples(0.6), deadline=None)
@given(imports)
def test_imports_never_duplicate_a_fact_and_the_last_import_wins(
    sequence: list[tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]],
) -> None:
    store = open_store(DatabaseURL.parse("memory://"))
    ledger = Ledger(store)
    last: dict[str, dict[str, Any]] = {}
    versions: Counter[str] = Counter()  # distinct consecutive versions per legacy contact
    notes_said: set[tuple[str, str, str]] = set()
    for n, (contacts, notes) in enumerate(sequence):
        updated = int((T0 + timedelta(days=n)).timestamp() * 1000)
        contact_rows = [
            {"_id": cid, "phone": PHONES[cid], "updated_at": updated, **row}
            for cid, row in sorted(contacts.items())
        ]
        note_rows = [
            {"_id": nid, "contact_id": cid, "content": text, "user_id": "sarah-bot"}
            for cid in sorted(contacts)
            for nid, text in notes
        ]
        for _ in range(2):  # the repeat must append nothing
            before = store.recorder.max_notification_id() or 0
            job = LegacyImport(ledger, WORKSPACE, mapping=DEFAULT_MAPPING, chunk_contacts=2)
            summary = job.run(as_rows("c", contact_rows), as_rows("n", note_rows))
            assert summary.rejected_total == 0
            if _:
                assert (store.recorder.max_notification_id() or 0) == before
                assert summary.events_appended == 0
        for cid, row in contacts.items():
            versions[cid] += last.get(cid) != row
            last[cid] = row
        notes_said |= {(cid, nid, text) for cid in contacts for nid, text in notes}

    for cid, row in last.items():
        events = list(lead_history(store, lead_id_for(WORKSPACE, PHONES[cid])))
        imported = [e for e in events if e.type == "ContactImported"]
        assert len(imported) == versions[cid]
        keys = [e.data["idempotency_key"] for e in events if e.type == "NoteAdded"]
        assert len(keys) == len(set(keys)) == len({s for s in notes_said if s[0] == cid})
        view, history, _notes, _ = replay(events, DEFAULT_POLICY)
        assert view is not None
        mapped = DEFAULT_MAPPING.map(row["lead_status"])
        assert mapped is not None
        assert (view.name, view.lead_score, view.lead_status) == (
            row["kapso_name"],
            row["lead_score"],
            mapped.status,
        )
        said = [DEFAULT_MAPPING.map(e.data["legacy_status"]) for e in imported]
        temperatures = [m.temperature for m in said if m is not None and m.temperature]
        assert view.lead_temperature == (temperatures[-1] if temperatures else None)
        assert all(h.outcome != "suppressed" for h in history)
