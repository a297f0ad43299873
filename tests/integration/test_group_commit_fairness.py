"""A request larger than a chunk is written a chunk per transaction, and whatever another
caller queued meanwhile is written between its chunks - not after the whole request."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.lead import Lead
from domain.values import Source
from service_layer.ledger import Ledger

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SAID = Said(Source.KAPSO, "kapso", AT, None, None)
BIG_PHONE, SMALL_PHONE = "+6281234567890", "+6285712345678"


def test_another_request_is_written_between_the_chunks_of_a_large_one() -> None:
    store = open_store(DatabaseURL.parse("memory://"))
    saved: list[set[Any]] = []  # the leads of each transaction, in commit order
    first_save_started, release_first = threading.Event(), threading.Event()
    save_leads = store.save_leads

    def observed(leads: list[Lead]) -> list[Any]:
        if not saved:
            first_save_started.set()
            release_first.wait(10)  # the small request arrives while chunk 1 commits
        saved.append({lead.id for lead in leads})
        return save_leads(leads)

    store.save_leads = observed  # type: ignore[method-assign]
    ledger = Ledger(store, chunk_commands=2)
    big = [
        RecordInboundMessage(BIG_PHONE, SAID, message_id=f"w.big.{i}", text="x") for i in range(6)
    ]
    small = [RecordInboundMessage(SMALL_PHONE, SAID, message_id="w.small", text="y")]
    answers: dict[str, Any] = {}
    big_writer = threading.Thread(target=lambda: answers.update(big=ledger.record("acme", big)))
    big_writer.start()
    assert first_save_started.wait(10)
    small_writer = threading.Thread(
        target=lambda: answers.update(small=ledger.record("other", small))
    )
    small_writer.start()
    while ledger.writer.queued == 0 and small_writer.is_alive():
        threading.Event().wait(0.01)  # the small request is queued behind chunk 1
    release_first.set()
    big_writer.join(10)
    small_writer.join(10)
    ledger.close()

    big_id, small_id = lead_id_for("acme", BIG_PHONE), lead_id_for("other", SMALL_PHONE)
    # Chunk 1, then the small request (alone, or with chunk 2 when that was queued by then),
    # then the rest of the large one: it did not wait for all three chunks.
    assert saved[0] == {big_id}
    assert small_id in saved[1]
    assert saved[-1] == {big_id}
    assert len(saved) in (3, 4)
    assert [f.fact for f in answers["big"].facts] == [c.fact for c in big]
    assert all(f.appended for f in answers["big"].facts)
    assert answers["small"].appended == 1
    store.close()
