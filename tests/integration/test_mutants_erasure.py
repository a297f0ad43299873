"""Erasure details that only show in one process's memory or in one store's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import create_engine, insert, select

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from domain.commands import RecordInboundMessage
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.personal import pseudonym
from domain.principal import Principal, Role
from projections.erasure import blank_erased
from projections.tables import view_tables
from service_layer.bootstrap import Services
from service_layer.erasure import (
    ErasureTargetNotFoundError,
    erase_lead,
    reapply_erasures,
    shred_deliveries_mentioning,
)
from service_layer.lead_resolution import linked_lead_ids
from service_layer.ledger import Ledger
from tests.e2e.test_erasure_of_linked_content import seed
from tests.support import WORKSPACE

ERASED = "PersonalDataErased"

PHONE = "+6281399990001"


def test_reapplying_erasures_drops_the_erased_lead_from_this_process_cache(
    durable_database_url: str,
) -> None:
    """Another process erased the lead; this one still holds it, decrypted, in its cache
    until `reapply_erasures` runs here."""
    url = DatabaseURL.parse(durable_database_url)
    holder, eraser = open_store(url), open_store(url)
    holding, erasing = Ledger(holder), Ledger(eraser)
    try:
        said = Said("kapso", "kapso", datetime.now(UTC))
        message = RecordInboundMessage(PHONE, said, message_id="wamid.1", text="secret")
        lead_id = holding.record("acme", [message]).facts[0].lead_id
        assert holding.get_lead("acme", lead_id).phone == PHONE  # a load caches it
        assert holder.is_cached(lead_id)
        erase_lead(erasing, "acme", lead_id, "dpo", "request")

        assert reapply_erasures(holder) == 1
        assert not holder.is_cached(lead_id)
    finally:
        holding.close()
        erasing.close()
        holder.close()
        eraser.close()


def test_blanking_an_erased_lead_leaves_other_leads_rows_alone() -> None:
    """Two leads with a message of the same id (message ids are only unique per lead) and a
    reasoned history row each: erasing one blanks only its own rows."""
    tables = view_tables(1)
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    erased, kept = "lead-erased", "lead-kept"
    at = datetime(2025, 11, 24, 16, tzinfo=UTC)
    with engine.begin() as conn:
        for lead in (erased, kept):
            conn.execute(
                insert(tables.messages).values(
                    lead_id=lead,
                    message_id="wamid.shared",
                    workspace="acme",
                    text="hi",
                    original_text="halo",
                    reactions=[{"by": "inbound", "emoji": "👍", "at": at.isoformat()}],
                    at=at,
                    echo=False,
                    edited=True,  # what the person did to it is theirs too
                    deleted=True,
                )
            )
            conn.execute(
                insert(tables.history).values(
                    lead_id=lead,
                    position=2,
                    workspace="acme",
                    at=at,
                    source="human",
                    actor="agent-1",
                    to_status="contacted",
                    reason="called them",
                    outcome="applied",
                    origin="request",
                )
            )
        blank_erased(conn, tables, [erased])
        m, h = tables.messages, tables.history
        messages = dict(conn.execute(select(m.c.lead_id, m.c.message_id)).all())
        reasons = dict(conn.execute(select(h.c.lead_id, h.c.reason)).all())
        shown = {
            row.lead_id: (row.text, row.original_text, row.reactions, row.edited, row.deleted)
            for row in conn.execute(select(m)).all()
        }
    assert messages == {erased: pseudonym("wamid.shared"), kept: "wamid.shared"}
    assert reasons == {erased: None, kept: "called them"}
    assert shown[erased] == (None, None, None, False, False)
    assert shown[kept][:2] == ("hi", "halo")
    assert shown[kept][3:] == (True, True)


def test_an_erasure_is_recorded_as_a_human_act_at_an_aware_time(durable_database_url: str) -> None:
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    try:
        said = Said("kapso", "kapso", datetime.now(UTC))
        message = RecordInboundMessage(PHONE, said, message_id="wamid.1")
        lead_id = ledger.record("acme", [message]).facts[0].lead_id
        before = datetime.now(UTC)
        dpo = Principal("acme", Role.ADMIN, "dpo", "key-dpo")
        erasure = erase_lead(ledger, "acme", lead_id, "dpo", "request", principal=dpo)
        assert before <= erasure.erased_at <= datetime.now(UTC)  # naive would not compare
        recorded = list(store.events.get(lead_id))[-1]
        assert (type(recorded).__name__, vars(recorded)["source"]) == (
            "PersonalDataErased",
            "human",
        )
        assert vars(recorded)["principal"] == dpo.record()
    finally:
        ledger.close()
        store.close()


def kept_delivery(n: int, mentions: str, in_headers: bool = False) -> UnhandledDelivery:
    return UnhandledDelivery(
        workspace="acme",
        key=f"kapso:delivery-{n}",
        channel="kapso",
        event_type="unknown.event",
        reason="untranslatable",
        headers={"x-forwarded-for-number": mentions} if in_headers else {},
        body=f'{{"n": {n}}}' if in_headers else f'{{"n": {n}, "from": "{mentions}"}}',
        received_at=datetime(2025, 11, 24, 16, tzinfo=UTC),
    )


@pytest.mark.parametrize("page", [1, 2])
def test_each_mentioning_delivery_is_shredded_once_across_pages(
    durable_database_url: str, page: int
) -> None:
    """The store's very first notification is a kept delivery, and paging by one or two
    puts a mention on a page boundary: each of the three is shredded, and counted, once;
    one of another phone is left alone. (Pages of one also prove each page starts after
    the last one read: re-reading it would never end.)"""
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    try:
        for n in range(3):
            ledger.keep_unhandled(kept_delivery(n, "0813-9999-0001"))
        ledger.keep_unhandled(kept_delivery(3, "0813-9999-0002"))
        assert shred_deliveries_mentioning(store, "acme", PHONE, page=page) == 3
    finally:
        ledger.close()
        store.close()


def test_a_delivery_mentioning_the_phone_only_in_its_headers_is_shredded(
    durable_database_url: str,
) -> None:
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    try:
        ledger.keep_unhandled(kept_delivery(0, "+62 813 9999 0001", in_headers=True))
        ledger.keep_unhandled(kept_delivery(1, "+62 813 9999 0002", in_headers=True))
        assert shred_deliveries_mentioning(store, "acme", PHONE) == 1
    finally:
        ledger.close()
        store.close()


def test_an_erasure_reports_where_it_was_recorded(durable_database_url: str) -> None:
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    try:
        said = Said("kapso", "kapso", datetime.now(UTC))
        lead_id = ledger.record("acme", [RecordInboundMessage(PHONE, said, message_id="w.1")])
        erased_id = lead_id.facts[0].lead_id
        assert ledger.get_lead("acme", erased_id).phone == PHONE  # a load caches it
        erasure = erase_lead(ledger, "acme", erased_id, "dpo", "request")
        assert (erasure.workspace, erasure.lead_id) == ("acme", erased_id)
        assert erasure.notification_id == store.recorder.max_notification_id()
        assert not store.is_cached(erased_id)
    finally:
        ledger.close()
        store.close()


def test_erasing_an_unknown_lead_names_it(durable_database_url: str) -> None:
    store = open_store(DatabaseURL.parse(durable_database_url))
    ledger = Ledger(store)
    unknown = uuid4()
    try:
        with pytest.raises(ErasureTargetNotFoundError, match=str(unknown)):
            erase_lead(ledger, "acme", unknown, "dpo", "request")
    finally:
        ledger.close()
        store.close()


def test_blanking_the_feed_keeps_what_an_erasure_leaves_and_other_leads_items() -> None:
    """An erased lead's feed items lose their personal part; its `lead.updated` items that
    changed personal fields only go (a rebuild would not have them); the others stay, and
    so does every other lead's item, at the same position too."""
    tables = view_tables(1)
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    erased, kept = "lead-erased", "lead-kept"
    at = datetime(2025, 11, 24, 16, tzinfo=UTC)
    items = [  # (position, seq, lead, type, non-personal data)
        (2, 0, erased, "message.received", {"direction": "inbound"}),
        (2, 1, erased, "lead.updated", {"fields": {}}),  # the name only: goes
        (3, 0, erased, "lead.updated", {"fields": {"lead_score": [None, 70]}}),
        (3, 1, kept, "lead.updated", {"fields": {}}),  # another lead's name change
    ]
    with engine.begin() as conn:
        for position, seq, lead, kind, data in items:
            conn.execute(
                insert(tables.changes).values(
                    position=position,
                    seq=seq,
                    lead_id=lead,
                    workspace="acme",
                    type=kind,
                    at=at,
                    recorded_at=at,
                    data=data,
                    personal={"name": ["", "Budi"]},
                )
            )
        blank_erased(conn, tables, [erased])
        c = tables.changes
        left = {
            (row.position, row.seq): (row.lead_id, row.personal)
            for row in conn.execute(select(c)).all()
        }
    assert left == {
        (2, 0): (erased, None),
        (3, 0): (erased, None),
        (3, 1): (kept, {"name": ["", "Budi"]}),
    }


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """The linked-content seed below needs a durable key store."""
    return durable_database_url


def test_erasing_a_person_erases_the_leads_of_their_other_ids_too(services: Services) -> None:
    """A person first known by BSUID and username, then seen with the phone: erasing the
    lead holding their history erases, shreds and forgets the others, for the same reason,
    and a kept delivery naming the phone of one of them is shredded with it."""
    holder = UUID(seed(services))
    others = linked_lead_ids(services.store, services.ledger.get_lead(WORKSPACE, holder))
    assert others
    services.ledger.keep_unhandled(kept_delivery(7, "+52 55 8765 4321"))  # workspace acme
    erasure = erase_lead(services.ledger, WORKSPACE, holder, "dpo", "request #42")
    assert erasure.deliveries_erased == 1
    for other in others:
        assert services.store.keys.is_erased(other)
        assert not services.store.is_cached(other)
        [erased] = [e for e in services.store.events.get(other) if type(e).__name__ == ERASED]
        assert vars(erased)["reason"] == "request #42"
