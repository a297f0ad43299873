"""The import loop against a fake ledger: chunking, isolation of a refused row, counting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from uuid import uuid4

from adapters.legacy_import.readers import RawRow
from domain.commands import LeadCommand
from service_layer.ledger import Ledger, RecordedFact, Recording
from service_layer.legacy_import import LegacyImport

POISON = "+6281300000003"


class FakeLedger:
    """Records every command; refuses any batch holding a command for POISON."""

    def __init__(self) -> None:
        self.batches: list[list[LeadCommand]] = []

    def record(self, workspace: str, commands: Sequence[LeadCommand]) -> Recording:
        if any(c.phone == POISON for c in commands):
            raise ValueError("the store refuses this row")
        self.batches.append(list(commands))
        facts = [RecordedFact(uuid4(), c.fact, True) for c in commands]
        return Recording(facts, [f.lead_id for f in facts[:1]], len(self.batches))


def contact(i: int) -> RawRow:
    data: dict[str, Any] = {"_id": f"c{i}", "phone": f"+628130000000{i}", "lead_status": "warm"}
    return RawRow("contacts.jsonl", i, "", data=data)


def note(i: int) -> RawRow:
    return RawRow("notes.jsonl", i, "", data={"contact_id": f"c{i}", "content": f"note {i}"})


def test_a_refused_row_is_rejected_alone_and_chunks_are_kept() -> None:
    fake = FakeLedger()
    job = LegacyImport(cast(Ledger, fake), "acme", chunk_contacts=2)
    summary = job.run([contact(i) for i in range(1, 6)], [note(i) for i in range(1, 6)])
    recorded = sorted(c.phone for batch in fake.batches for c in batch)
    assert POISON not in recorded
    assert len(recorded) == 8  # four contacts and their notes
    assert summary.contacts_imported == 4
    assert summary.notes_imported == 4
    assert dict(summary.rejected) == {"store_error": 1, "contact_rejected": 1}
    assert {(r.file, r.line, r.reason) for r in summary.rejects} == {
        ("contacts.jsonl", 3, "store_error"),
        ("notes.jsonl", 3, "contact_rejected"),
    }
    # Chunks of two contacts, each with its notes: (c1, c2), then c4 alone after the
    # refused chunk was split, then c5 (the last, partial chunk).
    assert [len(b) for b in fake.batches] == [4, 2, 2]
    assert job.last_notification_id == 3


def test_progress_counts_every_contact_row() -> None:
    ticks: list[int] = []
    job = LegacyImport(cast(Ledger, FakeLedger()), "acme", on_progress=ticks.append)
    job.run([contact(1), RawRow("c", 2, "{", error="broken JSON: x"), contact(2)])
    assert sum(ticks) == 3
