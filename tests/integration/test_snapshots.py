"""A long-lived lead: snapshots are taken every 100 versions and loading stays correct.

The dedup memory (the keys of recorded facts) must survive snapshots: a message recorded
long before the latest snapshot is still a duplicate after a cold start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.commands import LeadCommand, RecordInboundMessage, RecordMessageStatus
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.lead import Lead
from domain.values import Source
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import WORKSPACE, ledger_size

PHONE = "+6281234567890"
LEAD_ID = lead_id_for(WORKSPACE, PHONE)
MESSAGES = 1_100
INTERVAL = 100


def said(key: str | None = None) -> Said:
    return Said(Source.KAPSO, "kapso", datetime.now(UTC), None, key)


def message(n: int) -> RecordInboundMessage:
    return RecordInboundMessage(
        PHONE, said(f"delivery-{n // 37}"), message_id=f"wamid.{n}", text=f"pesan {n}"
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"


@pytest.fixture
def long_lead(sqlite_url: str, tmp_path: Path) -> Iterator[Services]:
    """A lead with 1,101 events (Registered + 1,100 messages), recorded in uneven batches."""
    services = bootstrap(settings_for(sqlite_url, tmp_path))
    n = 0
    for size in (1, 99, 1, 250, 37, 400, 12, 300):  # batches that straddle the intervals
        commands: list[LeadCommand] = [message(i) for i in range(n, n + size)]
        recording = services.ledger.record(WORKSPACE, commands)
        assert recording.appended == size
        n += size
    assert n == MESSAGES
    yield services
    services.close()


def test_snapshots_are_taken(long_lead: Services) -> None:
    assert long_lead.store.snapshots is not None
    snapshots: list[Any] = list(long_lead.store.snapshots.get(LEAD_ID))
    assert [s.originator_version for s in snapshots] == list(
        range(INTERVAL, MESSAGES + 1, INTERVAL)
    )
    latest = snapshots[-1]
    # The snapshot holds the dedup memory: every message recorded up to its version.
    facts = latest.state["facts"]
    assert len(facts) == latest.originator_version - 1
    assert "msg:wamid.0" in facts
    assert f"msg:wamid.{latest.originator_version - 2}" in facts
    assert latest.state["phone"] == PHONE


def test_repository_returns_the_current_version(long_lead: Services) -> None:
    lead: object = long_lead.store.repository.get(LEAD_ID)
    assert isinstance(lead, Lead)
    assert lead.version == MESSAGES + 1
    assert len(lead.facts) == MESSAGES
    assert ledger_size(long_lead) == MESSAGES + 1
    middle: object = long_lead.store.repository.get(LEAD_ID, version=550)
    assert isinstance(middle, Lead)
    assert middle.version == 550
    assert len(middle.facts) == 549
    assert "msg:wamid.548" in middle.facts
    assert "msg:wamid.549" not in middle.facts


def test_cold_start_loads_from_the_snapshot_and_still_dedups(
    long_lead: Services,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cold = bootstrap(settings_for(sqlite_url, tmp_path))  # empty cache: loads via snapshot
    try:
        reads: list[int | None] = []
        event_store = cold.store.repository.event_store
        original_get = event_store.get

        def spying_get(*args: Any, **kwargs: Any) -> Any:
            reads.append(kwargs.get("gt"))
            return original_get(*args, **kwargs)

        monkeypatch.setattr(event_store, "get", spying_get)
        lead = cold.ledger.get_lead(WORKSPACE, LEAD_ID)
        # Only the events after the latest snapshot were read.
        assert reads == [MESSAGES]
        assert lead.version == MESSAGES + 1
        assert lead.phone == PHONE
        # Facts from before, between and after snapshots are all still known.
        for n in (0, 99, 100, 550, 1_098, 1_099):
            again = cold.ledger.record(WORKSPACE, [message(n)])
            assert again.appended == 0, n
        assert ledger_size(cold) == MESSAGES + 1
        # And new facts go on from the right version.
        status = RecordMessageStatus(PHONE, said(), message_id="wamid.5", status="read")
        added = cold.ledger.record(WORKSPACE, [status, message(MESSAGES)])
        assert added.appended == 2
        assert cold.store.repository.get(LEAD_ID).version == MESSAGES + 3
    finally:
        cold.close()
    # The first store sees the other's writes too (its cache fast-forwards).
    assert long_lead.store.repository.get(LEAD_ID).version == MESSAGES + 3
    events = list(long_lead.store.events.get(LEAD_ID, gt=MESSAGES))
    assert [type(e).__name__ for e in events] == [
        "InboundMessageReceived",
        "MessageStatusChanged",
        "InboundMessageReceived",
    ]


def test_snapshot_matches_a_full_replay(long_lead: Services) -> None:
    """What a snapshot-based load gives equals a replay of every event from the start."""
    replayed: Lead | None = None
    stored: list[Any] = list(long_lead.store.events.get(LEAD_ID))
    for event in stored:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Lead)
    loaded: object = long_lead.store.repository.get(LEAD_ID)
    assert isinstance(loaded, Lead)
    assert (loaded.version, loaded.facts, loaded.reported_name, loaded.workspace) == (
        replayed.version,
        replayed.facts,
        replayed.reported_name,
        replayed.workspace,
    )
