"""The Lead aggregate's dedup: natural keys for WhatsApp facts, idempotency keys for the rest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore, open_store
from domain.commands import (
    AddNote,
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReleaseStatusHold,
    ReportContactName,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.lead import Lead
from domain.values import Source
from service_layer.ledger import Ledger

PHONE = "+6281234567890"
WORKSPACE = "acme"
AT = datetime(2025, 11, 24, 16, tzinfo=UTC)


def said(key: str | None = None, source: str = Source.KAPSO) -> Said:
    return Said(source, str(source), AT, None, key)


def new_lead() -> Lead:
    lead = Lead(
        workspace=WORKSPACE, phone=PHONE, source=Source.KAPSO, actor="kapso", received_at=AT
    )
    lead.collect_events()  # drop Registered: count only what commands append
    return lead


def pending_types(lead: Lead) -> list[str]:
    return [type(e).__name__ for e in lead.collect_events()]


def replayed(events: Sequence[Any]) -> Lead:
    """A lead rebuilt from its events alone (as after a restart)."""
    result: Lead | None = None
    for event in events:
        result = event.mutate(result)
    assert isinstance(result, Lead)
    return result


def test_id_is_a_function_of_workspace_and_phone() -> None:
    lead = new_lead()
    assert lead.id == lead_id_for(WORKSPACE, PHONE) == Lead.create_id(WORKSPACE, PHONE)
    assert lead_id_for("other", PHONE) != lead.id


def test_same_message_twice_is_one_fact() -> None:
    lead = new_lead()
    assert lead.record_inbound_message(said("k1"), "wamid.1", "text", "halo")
    assert not lead.record_inbound_message(said("k2"), "wamid.1", "text", "halo lagi")
    assert not lead.record_outbound_message(said(), "wamid.1", "text", "same id outbound")
    assert pending_types(lead) == ["InboundMessageReceived"]


def test_same_message_status_twice_is_one_fact() -> None:
    lead = new_lead()
    assert lead.record_message_status(said(), "wamid.9", "delivered")
    assert not lead.record_message_status(said("other-key"), "wamid.9", "delivered")
    assert lead.record_message_status(said(), "wamid.9", "read")  # another status: new fact
    assert lead.record_message_status(said(), "wamid.8", "delivered")  # another message
    assert pending_types(lead) == ["MessageStatusChanged"] * 3


def test_conversation_change_once_per_conversation_and_change() -> None:
    lead = new_lead()
    assert lead.record_conversation(said(), "conv-1", "opened")
    assert not lead.record_conversation(said(), "conv-1", "opened")
    assert lead.record_conversation(said(), "conv-1", "ended")
    assert lead.record_conversation(said(), "conv-2", "opened")
    inactive = {"since_message_id": "wamid.5"}
    assert lead.record_conversation(said(), "conv-2", "inactive", inactive)
    assert not lead.record_conversation(said(), "conv-2", "inactive", inactive)
    assert lead.record_conversation(said(), "conv-2", "inactive", {"since_message_id": "wamid.7"})
    assert len(pending_types(lead)) == 5


def test_contact_name_only_when_it_changes() -> None:
    lead = new_lead()
    assert lead.report_contact_name(said(), "Budi Santoso")
    assert not lead.report_contact_name(said(), "Budi Santoso")
    assert not lead.report_contact_name(said(), "")
    assert lead.report_contact_name(said(), "Budi S.")
    assert pending_types(lead) == ["ContactNameReported"] * 2


def sarah(lead: Lead, key: str | None) -> bool:
    return lead.report_sarah_phase(
        said(key, Source.SARAH), "collect_name", {"name": None}, 10, "cold", None
    )


def test_sarah_report_repeated_without_a_key_is_one_fact() -> None:
    lead = new_lead()
    assert sarah(lead, None)
    assert not sarah(lead, None)  # Sarah's retry of the same report
    assert lead.report_sarah_phase(said(None, Source.SARAH), "listening", {}, 20, "warm", None)
    assert sarah(lead, None)  # back to the first report after another: a new statement
    assert len(pending_types(lead)) == 3


@pytest.mark.parametrize(
    "record",
    [
        lambda lead, key: lead.request_status(said(key, Source.HUMAN), "qualified", "called"),
        lambda lead, key: lead.release_status_hold(said(key, Source.HUMAN)),
        lambda lead, key: lead.add_note(said(key, Source.HUMAN), "a note"),
    ],
    ids=["status", "release", "note"],
)
def test_commands_without_natural_key_dedup_on_the_idempotency_key(record: Any) -> None:
    """(Sarah's reports also dedup on the key: see the Sarah test below and the e2e samples.)"""
    lead = new_lead()
    assert record(lead, "key-1")
    assert not record(lead, "key-1")  # a retry
    assert record(lead, "key-2")
    # Without a key nothing identifies a retry: each call is a new fact.
    assert record(lead, None)
    assert record(lead, None)
    events = lead.collect_events()
    assert len(events) == 4
    # The key is remembered by the event itself, so a rebuilt lead knows it too.
    registered = Lead(
        workspace=WORKSPACE, phone=PHONE, source="kapso", actor="kapso", received_at=AT
    ).collect_events()
    rebuilt = replayed([*registered, *events])
    assert not record(rebuilt, "key-1")
    assert not record(rebuilt, "key-2")


def test_idempotency_key_does_not_dedup_whatsapp_facts() -> None:
    """One webhook delivery (one key) carries many messages: each is its own fact."""
    lead = new_lead()
    assert lead.record_inbound_message(said("delivery-1"), "wamid.1", "text", "a")
    assert lead.record_inbound_message(said("delivery-1"), "wamid.2", "text", "b")
    assert lead.record_message_status(said("delivery-1"), "wamid.0", "read")
    assert sarah(lead, "delivery-1")  # Sarah's key space is not the messages'
    assert len(pending_types(lead)) == 4


def test_facts_survive_a_rebuild_from_events() -> None:
    lead = Lead(workspace=WORKSPACE, phone=PHONE, source="kapso", actor="kapso", received_at=AT)
    lead.record_inbound_message(said(), "wamid.1", "text", "a")
    lead.record_message_status(said(), "wamid.0", "read")
    lead.record_conversation(said(), "conv-1", "opened")
    lead.report_contact_name(said(), "Budi")
    rebuilt = replayed(lead.collect_events())
    assert rebuilt.version == 5
    assert not rebuilt.record_inbound_message(said(), "wamid.1", "text", "a")
    assert not rebuilt.record_message_status(said(), "wamid.0", "read")
    assert not rebuilt.record_conversation(said(), "conv-1", "opened")
    assert not rebuilt.report_contact_name(said(), "Budi")
    assert rebuilt.collect_events() == []


# -- through the Ledger (in-memory store) ---------------------------------------------------


@pytest.fixture
def store() -> Iterator[LedgerStore]:
    built = open_store(DatabaseURL.parse("memory://"))
    yield built
    built.close()


def test_batch_with_one_key_carrying_two_messages_records_both(store: LedgerStore) -> None:
    ledger = Ledger(store)
    key = "kapso-delivery-1"
    batch: list[LeadCommand] = [
        ReportContactName(PHONE, said(key), name="Sari"),
        RecordInboundMessage(PHONE, said(key), message_id="wamid.a", text="one"),
        RecordInboundMessage(PHONE, said(key), message_id="wamid.b", text="two"),
        RecordConversation(PHONE, said(key), conversation_id="c", change="opened"),
        ReportContactName(PHONE, said(key), name="Sari"),
    ]
    first = ledger.record(WORKSPACE, batch)
    assert [f.appended for f in first.facts] == [True, True, True, True, False]
    assert first.new_leads == [lead_id_for(WORKSPACE, PHONE)]
    again = ledger.record(WORKSPACE, batch)
    assert again.appended == 0
    assert again.new_leads == []
    assert [type(e).__name__ for e in store.events.get(lead_id_for(WORKSPACE, PHONE))] == [
        "Registered",
        "ContactNameReported",
        "InboundMessageReceived",
        "InboundMessageReceived",
        "ConversationChanged",
    ]


def test_commands_on_several_leads_in_one_recording(store: LedgerStore) -> None:
    ledger = Ledger(store)
    other = "+6285712345678"
    recording = ledger.record(
        WORKSPACE,
        [
            RecordOutboundMessage(PHONE, said(), message_id="wamid.o1"),
            RecordMessageStatus(other, said(), message_id="wamid.o2", status="sent"),
            RecordMessageStatus(PHONE, said(), message_id="wamid.o1", status="sent"),
        ],
    )
    assert recording.appended == 3
    assert sorted(recording.new_leads) == sorted(
        [lead_id_for(WORKSPACE, PHONE), lead_id_for(WORKSPACE, other)]
    )
    assert {f.lead_id for f in recording.facts} == set(recording.new_leads)


def test_same_phone_in_another_workspace_is_another_lead(store: LedgerStore) -> None:
    ledger = Ledger(store)
    message = RecordInboundMessage(PHONE, said(), message_id="wamid.1")
    assert ledger.record(WORKSPACE, [message]).appended == 1
    assert ledger.record("other", [message]).appended == 1
    assert ledger.get_lead("other", lead_id_for("other", PHONE)).workspace == "other"


@pytest.mark.parametrize(
    "command",
    [
        ReportSarahPhase(PHONE, said("s1", Source.SARAH), chat_phase="greeting"),
        RequestStatus(PHONE, said("s1", Source.BRAIN), status="qualified"),
        ReleaseStatusHold(PHONE, said("s1", Source.HUMAN)),
        AddNote(PHONE, said("s1", Source.HUMAN), content="x"),
    ],
    ids=["sarah", "status", "release", "note"],
)
def test_retried_command_through_the_ledger_appends_once(
    store: LedgerStore,
    command: LeadCommand,
) -> None:
    ledger = Ledger(store)
    assert ledger.record(WORKSPACE, [command]).appended == 1
    assert ledger.record(WORKSPACE, [command]).appended == 0
    assert len(list(store.events.get(lead_id_for(WORKSPACE, PHONE)))) == 2  # with Registered
