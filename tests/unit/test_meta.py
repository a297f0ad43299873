"""The WhatsApp Cloud API translator on the shared samples and on edge cases."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.webhooks.meta import translate_meta
from domain.commands import RecordInboundMessage, RecordMessageStatus, ReportContactName
from domain.values import Source
from tests.support import sample_json

RECEIVED = datetime(2025, 11, 24, 16, 10, tzinfo=UTC)
PHONE = "+6281398765432"
INBOUND_ID = "wamid.HBgNNjI4MTM5ODc2NTQzMhUCABIYFk1FVEEwMDAwMDAwMDAwMDAwMDAwMQA="
STATUS_ID = "wamid.HBgNNjI4MTM5ODc2NTQzMhUCABEYEk9VVE1FVEEwMDAwMDAwMDAxAA=="


def value_of(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return result


def test_text_message_sample() -> None:
    body = sample_json("meta-text-message.json")
    contact, item = translate_meta(body, RECEIVED, "ID")
    assert (contact.kind, contact.part) == ("contact", "entry.0.changes.0.value.contacts.0")
    assert (item.kind, item.part) == ("message:text", "entry.0.changes.0.value.messages.0")
    assert item.phone_number_id == "109876543210987"
    assert item.event_type == "meta.messages"
    assert item.unhandled_reason is None
    # The part alone, as a body the translator takes again (re-ingestion).
    assert [i.commands for i in translate_meta(item.raw, RECEIVED, "ID")] == [
        contact.commands,
        item.commands,
    ]
    assert [c.fact for c in contact.commands + item.commands] == [
        "contact_name",
        f"message:{INBOUND_ID}",
    ]
    name, message = contact.commands + item.commands
    assert isinstance(name, ReportContactName)
    assert (name.phone, name.name) == (PHONE, "Andi Wijaya")
    assert isinstance(message, RecordInboundMessage)
    assert message.phone == PHONE
    assert (message.message_type, message.text, message.media) == (
        "text",
        "Berapa harga paket bulanan?",
        None,
    )
    assert message.said.source == Source.META
    assert message.said.actor == "meta"
    assert message.said.received_at == RECEIVED
    assert message.said.occurred_at == datetime.fromtimestamp(1764000300, tz=UTC)
    assert message.said.idempotency_key is None


def test_status_read_sample() -> None:
    [item] = translate_meta(sample_json("meta-status-read.json"), RECEIVED, "ID")
    assert item.unhandled_reason is None
    assert [c.fact for c in item.commands] == [f"status:{STATUS_ID}:read"]
    [status] = item.commands
    assert isinstance(status, RecordMessageStatus)
    assert (status.phone, status.message_id, status.status) == (PHONE, STATUS_ID, "read")
    assert (status.error_code, status.error_title) == (None, None)
    assert status.said.occurred_at == datetime.fromtimestamp(1764000400, tz=UTC)


def test_failed_status_carries_the_first_error() -> None:
    body = sample_json("meta-status-read.json")
    status = value_of(body)["statuses"][0]
    status["status"] = "failed"
    status["errors"] = [{"code": 131047, "title": "Re-engagement message", "message": "24h"}]
    [item] = translate_meta(body, RECEIVED, "ID")
    [command] = item.commands
    assert isinstance(command, RecordMessageStatus)
    assert command.fact == f"status:{STATUS_ID}:failed"
    assert (command.error_code, command.error_title) == (131047, "Re-engagement message")


def test_media_caption_and_button_reply_give_text() -> None:
    body = sample_json("meta-text-message.json")
    image = {"id": "media-1", "mime_type": "image/jpeg", "caption": "Foto rumah"}
    reply = {"type": "button_reply", "button_reply": {"id": "b1", "title": "Ya, minat"}}
    first = value_of(body)["messages"][0]
    value_of(body)["messages"] = [
        {**first, "id": "wamid.img", "type": "image", "image": image},
        {**first, "id": "wamid.btn", "type": "interactive", "interactive": reply},
    ]
    del value_of(body)["messages"][0]["text"], value_of(body)["messages"][1]["text"]
    _, (photo,), (button,) = [i.commands for i in translate_meta(body, RECEIVED, "ID")]
    assert isinstance(photo, RecordInboundMessage)
    assert isinstance(button, RecordInboundMessage)
    assert (photo.text, photo.media) == ("Foto rumah", {"image": image})
    assert (button.text, button.media) == ("Ya, minat", None)


def test_unknown_field_is_kept_unhandled() -> None:
    body = sample_json("meta-text-message.json")
    change = {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}
    body["entry"][0]["changes"] = [change]
    [item] = translate_meta(body, RECEIVED, "ID")
    assert item.event_type == "meta.account_update"
    assert item.unhandled_reason == "entry.0.changes.0: unhandled field 'account_update'"
    assert item.commands == []
    assert item.raw["entry"][0]["changes"] == [change]


def test_message_without_phone_is_kept_unhandled() -> None:
    body = sample_json("meta-text-message.json")
    value = value_of(body)
    value["contacts"][0].update(wa_id="", user_id="ID.1502576394655843")
    del value["messages"][0]["from"]
    contact, item = translate_meta(body, RECEIVED, "ID")
    assert [c.phone for c in contact.commands] == ["wa_user:ID.1502576394655843"]
    assert item.commands == []
    assert item.unhandled_reason is not None
    assert "messages.0" in item.unhandled_reason
    assert "no usable identity" in item.unhandled_reason
    assert item.raw["entry"][0]["changes"][0]["value"]["messages"] == value["messages"]


def test_junk_phone_names_the_field() -> None:
    body = sample_json("meta-text-message.json")
    value_of(body)["messages"][0]["from"] = "abc123"
    _, item = translate_meta(body, RECEIVED, "ID")
    assert item.commands == []
    assert (item.unhandled_reason or "").startswith("entry.0.changes.0.value.messages.0.from:")


def test_empty_message_id_names_the_field() -> None:
    body = sample_json("meta-text-message.json")
    value_of(body)["messages"][0]["id"] = ""
    contact, item = translate_meta(body, RECEIVED, "ID")
    assert contact.commands  # the name still counts: one bad part spoils nothing else
    assert item.commands == []
    assert (item.unhandled_reason or "").startswith("entry.0.changes.0.value.messages.0.id:")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(object="page"), "object"),
        (lambda b: b.pop("entry"), "entry"),
        (lambda b: b["entry"][0].update(changes="x"), "entry.0.changes"),
        (lambda b: b["entry"][0]["changes"][0].pop("field"), "entry.0.changes.0.field"),
    ],
)
def test_malformed_envelope_is_kept_raw_naming_the_field(mutate: Any, field: str) -> None:
    body = copy.deepcopy(sample_json("meta-text-message.json"))
    mutate(body)
    [item] = translate_meta(body, RECEIVED, "ID")
    assert item.commands == []
    assert (item.unhandled_reason or "").startswith(field)


def test_non_object_body_is_kept_raw() -> None:
    [item] = translate_meta([1, 2], RECEIVED, "ID")
    assert (item.raw, item.commands, item.unhandled_reason) == (
        [1, 2],
        [],
        "body: a JSON object is expected",
    )
