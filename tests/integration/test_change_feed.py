"""The change feed is a projection: written with the contact view, equal after a rebuild
(same ids, same items), blanked by an erasure, and its `lead.updated` diffs replay to the
contact view (a Hypothesis property over random command sequences)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection

from domain.commands import (
    AddNote,
    LeadCommand,
    RecordInboundMessage,
    ReportContactName,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY_TOML
from domain.reducer import ContactView
from domain.reducer.changes import UNDIFFED, ChangeItem, plain
from projections import queries
from projections.feed_rows import ChangeQuery, Cursor
from projections.tables import ViewTables
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for, store_per_example
from tests.integration.test_projection_equivalence import PHONES, POLICIES, commands_for, record
from tests.support import WORKSPACE

BUDI = "+6281234567890"
AT = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)


def feed(services: Services, lead_id: str | None = None) -> list[ChangeItem]:
    return services.service.changes.page(ChangeQuery(WORKSPACE, limit=100_000, lead_id=lead_id))


def story() -> list[LeadCommand]:
    kapso = Said("kapso", "kapso", AT)
    return [
        RecordInboundMessage(BUDI, kapso, message_id="wamid.a", text="Halo, saya Budi"),
        ReportContactName(BUDI, kapso, name="Budi Santoso"),
        ReportSarahPhase(
            BUDI,
            Said("sarah", "sarah-bot", AT),
            chat_phase="listening",
            extracted_data={"name": "Budi", "domisili": "Bandung"},
            lead_score=70,
            lead_temperature="warm",
        ),
        RequestStatus(BUDI, Said("human", "ana", AT), status="contacted", reason="called him"),
        ReportSarahPhase(
            BUDI, Said("sarah", "sarah-bot", AT), chat_phase="greeting", extracted_data={}
        ),
        AddNote(BUDI, Said("human", "ana", AT), content="wants the premium plan"),
    ]


def test_the_feed_says_what_happened_in_ledger_order(services: Services) -> None:
    services.ledger.record(WORKSPACE, story())
    services.views.catch_up()
    items = feed(services)
    positions = [(i.position, i.seq) for i in items]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    types = [i.type for i in items]
    assert types[0] == "lead.created"
    for expected in ("message.received", "sarah.phase", "lead.status_changed", "note.added"):
        assert expected in types
    # Sarah's greeting after a human's status: the policy suppressed it, and says why.
    suppressed = [i for i in items if i.type == "status.suppressed"]
    assert suppressed
    assert suppressed[-1].decision is not None
    assert suppressed[-1].decision["outcome"] == "suppressed"
    changed = next(i for i in items if i.type == "lead.status_changed" and i.source == "human")
    assert changed.public()["data"]["to"] == "contacted"
    assert changed.actor == "ana"


def test_the_feed_is_equal_after_a_rebuild(services: Services) -> None:
    services.ledger.record(WORKSPACE, story())
    services.views.catch_up()
    before = [i.public() for i in feed(services)]
    services.service.rebuild_views(DEFAULT_POLICY_TOML, None, 2)
    after = [i.public() for i in feed(services)]
    assert before
    assert after == before
    assert services.service.verify_views(None, 3).differences == []


def test_a_policy_change_re_derives_the_decisions(services: Services) -> None:
    services.ledger.record(WORKSPACE, story())
    services.views.catch_up()
    before = [i.public() for i in feed(services)]
    sarah_first = 'name = "sarah-first"\nhold = []\n[ranks]\nhuman = 1\nsarah = 3\n'
    services.service.rebuild_views(sarah_first, None, 1000)
    changed = feed(services)
    decisions = [i.decision for i in changed if i.decision and i.source == "human"]
    assert decisions
    assert decisions[0]["outcome"] == "suppressed"
    # The same events at the same positions: only what the policy decides differs.
    assert sorted({i.position for i in changed}) == sorted({i["position"] for i in before})
    said = ("message.received", "note.added", "sarah.phase", "lead.created")
    assert [i.public() for i in changed if i.type in said] == [
        i for i in before if i["type"] in said
    ]
    # And back: the feed is a function of the ledger and the policy, ids and items alike.
    services.service.rebuild_views(DEFAULT_POLICY_TOML, None, 1000)
    assert [i.public() for i in feed(services)] == before


def test_an_erased_lead_s_changes_keep_no_personal_value(services: Services) -> None:
    services.ledger.record(WORKSPACE, story())
    services.views.catch_up()
    lead_id = lead_id_for(WORKSPACE, BUDI)
    text = json.dumps([i.public() for i in feed(services)])
    assert "Budi" in text
    assert BUDI in text
    assert "premium" in text
    settled = services.service.erase_personal_data(WORKSPACE, lead_id, "dpo", "request")
    assert settled.views_settled
    items = feed(services, str(lead_id))
    text = json.dumps([i.public() for i in items])
    for personal in ("Budi", BUDI, "premium", "Bandung", "called him", "wamid.a", "Halo"):
        assert personal not in text
    assert items[-1].type in ("lead.erased", "lead.updated")
    assert any(i.type == "lead.erased" for i in items)
    # A rebuild from the shredded ledger ends in the same items.
    services.service.rebuild_views(DEFAULT_POLICY_TOML, None, 1000)
    assert [i.public() for i in feed(services, str(lead_id))] == [i.public() for i in items]


# -- the property: lead.updated diffs replay to the contact view ----------------------------


def replayed(items: Sequence[ChangeItem]) -> dict[str, dict[str, Any]]:
    """Each lead's fields rebuilt from nothing by applying its lead.updated diffs in order."""
    leads: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.type == "lead.updated":
            fields = leads.setdefault(item.lead_id, {})
            for name, change in item.public()["data"]["fields"].items():
                assert fields.get(name) == change["before"], (item.id, name)
                fields[name] = change["after"]
    return leads


def contact_views(services: Services, phones: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for phone in phones:
        lead_id = lead_id_for(WORKSPACE, phone)

        def read(conn: Connection, tables: ViewTables, lead: UUID = lead_id) -> ContactView | None:
            return queries.get_view(conn, tables, WORKSPACE, lead)

        view = queries.read_views(services.engines.read, read)
        if view is not None:
            fields = {k: v for k, v in view.__dict__.items() if k not in UNDIFFED}
            found[str(lead_id)] = json.loads(json.dumps(plain(fields)))
    return found


@store_per_example(0.25)
@given(
    phones=st.lists(st.sampled_from(PHONES), min_size=1, max_size=3, unique=True),
    data=st.data(),
    policy=st.sampled_from(POLICIES),
)
def test_lead_updated_diffs_replay_to_the_contact_view(
    phones: list[str], data: st.DataObject, policy: str
) -> None:
    commands = data.draw(st.lists(commands_for(st.sampled_from(phones)), min_size=1, max_size=30))
    cuts = data.draw(st.lists(st.integers(1, 5), max_size=6))
    directory = Path(tempfile.mkdtemp(prefix="ll-feed-"))
    (directory / "policy.toml").write_text(policy or DEFAULT_POLICY_TOML, encoding="utf-8")
    settings = settings_for("memory://", directory).model_copy(
        update={"policy_file": directory / "policy.toml"}
    )
    services = bootstrap(settings)
    try:
        start = 0
        for size in [*cuts, len(commands)]:  # batches, the views caught up between them
            batch = commands[start : start + size]
            start += size
            if batch:
                record(services, batch)  # a batch reusing a key for another request: refused
                services.views.catch_up()
        assert replayed(feed(services)) == contact_views(services, phones)
    finally:
        services.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("after", ["", "0", "3", "3.1"])
def test_pages_after_a_cursor_continue_without_gap_or_repeat(
    services: Services, after: str
) -> None:
    services.ledger.record(WORKSPACE, story())
    services.views.catch_up()
    every = feed(services)
    cursor = Cursor.parse(after)
    expected = [i.id for i in every if (i.position, i.seq) > (cursor.position, cursor.seq)]
    got: list[str] = []
    while True:
        page = services.service.changes.page(ChangeQuery(WORKSPACE, cursor, limit=2))
        if not page:
            break
        got += [i.id for i in page]
        cursor = Cursor(page[-1].position, page[-1].seq)
    assert got == expected
