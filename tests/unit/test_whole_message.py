"""Every recorded WhatsApp / Kapso fixture is kept whole on its events (the type's object,
referral, context, errors, status detail, ids as sent), and all of it is personal data:
sealed in the store, unreadable once the lead's key is destroyed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.eventstore.store import LedgerStore
from adapters.webhooks.kapso import translate_kapso
from adapters.webhooks.meta import translate_meta
from adapters.webhooks.translation import TranslatedItem
from domain.commands import LeadCommand, RecordInboundMessage, RecordMessageStatus
from domain.lead import Lead
from tests.whatsapp_fixtures import Fixture, fixtures

RECEIVED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
VERBATIM = ("wa_id", "content", "referral", "context", "errors", "echo", "recipient_id", "detail")


def translate(fixture: Fixture) -> list[TranslatedItem]:
    body = json.loads(fixture.raw)
    if fixture.channel == "meta":
        return translate_meta(body, RECEIVED, "ID")
    batch = fixture.headers.get("X-Webhook-Batch") == "true"
    return translate_kapso(body, fixture.event, batch, None, RECEIVED, "ID")


def meta_messages(fixture: Fixture) -> list[dict[str, Any]]:
    body = json.loads(fixture.raw)
    return [
        message
        for entry in body["entry"]
        for change in entry["changes"]
        for message in change["value"].get("messages", [])
    ]


def test_every_meta_message_keeps_its_type_object_referral_and_context_verbatim() -> None:
    checked = 0
    for fixture in fixtures():
        if fixture.channel != "meta":
            continue
        commands = {
            c.message_id: c
            for item in translate(fixture)
            for c in item.commands
            if isinstance(c, RecordInboundMessage)
        }
        for message in meta_messages(fixture):
            parts = commands[message["id"]].parts
            kind = message["type"]
            assert parts.content == ({kind: message[kind]} if kind in message else None)
            assert parts.referral == message.get("referral"), fixture.file
            assert parts.context == message.get("context"), fixture.file
            assert parts.errors == (message.get("errors") or None), fixture.file
            assert parts.wa_id == (message.get("from") or message.get("from_user_id"))
            checked += 1
    assert checked >= 25


def test_failed_status_keeps_every_error_and_its_detail() -> None:
    [fixture] = [f for f in fixtures() if f.file == "meta/status_failed_131049.json"]
    [status] = [c for i in translate(fixture) for c in i.commands]
    assert isinstance(status, RecordMessageStatus)
    raw = json.loads(fixture.raw)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status.parts.errors == raw["errors"]
    assert status.error_code == raw["errors"][0]["code"]
    assert status.parts.recipient_id == raw["recipient_id"]


def test_whole_messages_are_sealed_and_shredded_with_the_lead() -> None:
    store = LedgerStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    leads: dict[str, Lead] = {}
    wanted = {"meta/referral_ctwa_ad.json", "meta/location.json", "meta/status_failed_131049.json"}
    wanted |= {"meta/smb_message_echo_text.json", "meta/bsuid_username_only_text.json"}
    commands: list[LeadCommand] = [
        c for f in fixtures() if f.file in wanted for i in translate(f) for c in i.commands
    ]
    for command in commands:
        lead = leads.get(command.phone) or Lead(
            workspace="acme", phone=command.phone, source="meta", actor="meta", received_at=RECEIVED
        )
        leads[command.phone] = lead
        command.apply(lead)
    for lead in leads.values():
        store.save(lead)
    values = [
        json.dumps(getattr(e, name), sort_keys=True)
        for lead in leads.values()
        for e in store.events.get(lead.id)
        for name in VERBATIM
        if getattr(e, name, None) is not None
    ]
    assert len(values) >= 10  # the events carry them, decrypted with the key
    stored = b"".join(
        s.state for lead in leads.values() for s in store.recorder.select_events(lead.id)
    )
    for text in ("Chat with us", "Philz Coffee", "16505551234", "user.9373795779eb6441c8adb"):
        assert text.encode() not in stored, text  # sealed, never in clear
    for lead in leads.values():
        store.keys.destroy(lead.id)
        store.forget_cached(lead.id)
        for event in store.events.get(lead.id):
            for name in VERBATIM:
                assert getattr(event, name, None) is None, (type(event).__name__, name)
