"""The Kapso payload v2 translator: single events, batches, statuses, unknown events, errors."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.webhooks.kapso import is_batch, translate_kapso
from adapters.webhooks.translation import TranslatedItem
from domain.commands import (
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
)
from domain.values import Source
from tests.support import sample_json

RECEIVED_AT = datetime(2025, 11, 24, 16, 10, tzinfo=UTC)
RECEIVED = "whatsapp.message.received"
BUDI = "+6281234567890"
SARI = "+6285712345678"
INBOUND_ID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBCMEE1QjY0RjE2QjZBMjM0AA=="
OUTBOUND_ID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEk9VVEJPVU5EMDAwMDAwMDAwMQA="
BATCH_IDS = (
    "wamid.HBgNNjI4NTcxMjM0NTY3OBUCABIYFkJBVENIMDAwMDAwMDAwMDAwMDEA",
    "wamid.HBgNNjI4NTcxMjM0NTY3OBUCABIYFkJBVENIMDAwMDAwMDAwMDAwMDIA",
)


def translate(
    body: Any, event: str | None = RECEIVED, batch_header: bool = False, key: str | None = "idem-1"
) -> list[TranslatedItem]:
    return translate_kapso(body, event, batch_header, key, RECEIVED_AT, "ID")


def without_verbatim(item: TranslatedItem) -> list[Any]:
    """The commands with the verbatim parts left out (they keep the source's spelling)."""
    blank: list[Any] = []
    for command in item.commands:
        if isinstance(command, RecordInboundMessage | RecordOutboundMessage | RecordMessageStatus):
            blank.append(dataclasses.replace(command, parts=type(command.parts)()))  # type: ignore[arg-type]
        else:
            blank.append(command)
    return blank


def facts(item: TranslatedItem) -> list[str]:
    return [c.fact for c in item.commands]


def test_received_sample() -> None:
    body = sample_json("kapso-message-received.json")
    [item] = translate(body)
    assert (item.phone_number_id, item.event_type, item.unhandled_reason) == (
        "109876543210987",
        RECEIVED,
        None,
    )
    assert item.raw == body
    name, message, opened = item.commands
    assert isinstance(name, ReportContactName)
    assert (name.phone, name.name) == (BUDI, "Budi Santoso")
    assert isinstance(message, RecordInboundMessage)
    assert (message.phone, message.message_id, message.message_type, message.conversation_id) == (
        BUDI,
        INBOUND_ID,
        "text",
        "conv_01JDX8Y2N5K3",
    )
    assert message.text == "Halo kak, saya mau tanya soal chatbot untuk toko online saya"
    assert message.said.source == Source.KAPSO
    assert message.said.idempotency_key == "idem-1"
    assert message.said.received_at == RECEIVED_AT
    assert message.said.occurred_at == datetime.fromtimestamp(1764000000, tz=UTC)
    assert isinstance(opened, RecordConversation)
    assert (opened.conversation_id, opened.change) == ("conv_01JDX8Y2N5K3", "opened")


def test_not_new_conversation_opens_nothing() -> None:
    body = sample_json("kapso-message-received.json")
    body["is_new_conversation"] = False
    [item] = translate(body)
    assert facts(item) == ["contact_name", f"message:{INBOUND_ID}"]


def test_missing_from_falls_back_to_the_conversation_phone() -> None:
    body = sample_json("kapso-message-received.json")
    del body["message"]["from"]
    body["conversation"]["phone_number"] = "0812-3456-7890"
    [item] = translate(body)
    message = item.commands[1]
    assert isinstance(message, RecordInboundMessage)
    assert message.phone == BUDI


def test_from_wins_over_the_conversation_phone() -> None:
    body = sample_json("kapso-message-received.json")
    body["conversation"]["phone_number"] = "+6285712345678"
    [item] = translate(body)
    assert {c.phone for c in item.commands} == {BUDI}


def test_camel_case_and_snake_case_are_one_payload() -> None:
    snake = sample_json("kapso-message-received.json")
    camel = copy.deepcopy(snake)
    camel["isNewConversation"] = camel.pop("is_new_conversation")
    camel["phoneNumberId"] = camel.pop("phone_number_id")
    conversation = camel["conversation"]
    conversation["phoneNumber"] = conversation.pop("phone_number")
    conversation["phoneNumberId"] = conversation.pop("phone_number_id")
    conversation["kapso"]["contactName"] = conversation["kapso"].pop("contact_name")
    camel["message"]["kapso"]["hasMedia"] = camel["message"]["kapso"].pop("has_media")
    [from_snake] = translate(snake)
    [from_camel] = translate(camel)
    assert without_verbatim(from_camel) == without_verbatim(from_snake)
    # The message's objects are kept as Kapso spelled them, not renamed.
    [_, message, _] = from_camel.commands
    assert isinstance(message, RecordInboundMessage)
    assert message.parts.content is not None
    assert message.parts.content["kapso"]["hasMedia"] is False
    assert from_camel.phone_number_id == "109876543210987"
    assert facts(from_camel)[-1] == "conversation:conv_01JDX8Y2N5K3:opened"


def test_text_falls_back_to_kapso_content() -> None:
    body = sample_json("kapso-message-received.json")
    del body["message"]["text"]
    body["message"]["kapso"]["content"] = "dari content"
    [item] = translate(body)
    message = item.commands[1]
    assert isinstance(message, RecordInboundMessage)
    assert message.text == "dari content"


def test_delivered_sample_gives_message_and_every_status() -> None:
    [item] = translate(sample_json("kapso-message-delivered.json"), "whatsapp.message.delivered")
    assert facts(item) == [
        "contact_name",
        f"message:{OUTBOUND_ID}",
        f"status:{OUTBOUND_ID}:sent",
        f"status:{OUTBOUND_ID}:delivered",
    ]
    outbound = item.commands[1]
    assert isinstance(outbound, RecordOutboundMessage)
    assert (outbound.phone, outbound.origin) == (BUDI, "cloud_api")
    sent, delivered = item.commands[2:]
    assert isinstance(sent, RecordMessageStatus)
    assert isinstance(delivered, RecordMessageStatus)
    assert sent.said.occurred_at == datetime.fromtimestamp(1764000199, tz=UTC)
    assert delivered.said.occurred_at == datetime.fromtimestamp(1764000200, tz=UTC)


def test_event_status_is_added_when_not_in_the_history() -> None:
    body = sample_json("kapso-message-delivered.json")
    [item] = translate(body, "whatsapp.message.read")
    assert facts(item)[-1] == f"status:{OUTBOUND_ID}:read"
    assert len(facts(item)) == 5


def test_outbound_phone_from_status_recipient_without_conversation() -> None:
    body = sample_json("kapso-message-delivered.json")
    del body["conversation"]
    [item] = translate(body, "whatsapp.message.delivered")
    assert {c.phone for c in item.commands} == {BUDI}
    assert "contact_name" not in facts(item)


def test_failed_status_carries_the_error_code() -> None:
    body = sample_json("kapso-message-delivered.json")
    body["message"]["kapso"]["statuses"] = []
    body["message"]["kapso"]["status"] = "failed"
    body["message"]["errors"] = [{"code": 131047, "title": "Re-engagement message"}]
    [item] = translate(body, "whatsapp.message.failed")
    failed = item.commands[-1]
    assert isinstance(failed, RecordMessageStatus)
    assert (failed.status, failed.error_code, failed.error_title) == (
        "failed",
        131047,
        "Re-engagement message",
    )


def test_failed_status_in_history_keeps_its_own_error() -> None:
    body = sample_json("kapso-message-delivered.json")
    body["message"]["kapso"]["statuses"].append(
        {
            "id": OUTBOUND_ID,
            "status": "failed",
            "timestamp": "1764000300",
            "errors": [{"code": 131026, "title": "Message undeliverable"}],
        }
    )
    [item] = translate(body, "whatsapp.message.failed")
    failed = item.commands[-1]
    assert isinstance(failed, RecordMessageStatus)
    assert (failed.status, failed.error_code) == ("failed", 131026)
    assert facts(item).count(f"status:{OUTBOUND_ID}:failed") == 1


def test_conversation_ended() -> None:
    [item] = translate(sample_json("kapso-conversation-ended.json"), "whatsapp.conversation.ended")
    name, ended = item.commands
    assert isinstance(name, ReportContactName)
    assert isinstance(ended, RecordConversation)
    assert (ended.phone, ended.conversation_id, ended.change) == (
        BUDI,
        "conv_01JDX8Y2N5K3",
        "ended",
    )
    assert ended.said.occurred_at == datetime(2025, 11, 25, 16, tzinfo=UTC)


def test_conversation_inactive_keeps_its_detail() -> None:
    body = sample_json("kapso-conversation-ended.json")
    body["since_message"] = {"id": "wamid.last"}
    body["inactivity"] = {"minutes": 30}
    [item] = translate(body, "whatsapp.conversation.inactive")
    change = item.commands[-1]
    assert isinstance(change, RecordConversation)
    assert change.change == "inactive"
    assert change.detail == {"since_message_id": "wamid.last", "inactivity": {"minutes": 30}}


def test_batch_sample() -> None:
    body = sample_json("kapso-message-received-batch.json")
    first, second = translate(body, None)
    assert (first.event_type, second.event_type) == (RECEIVED, RECEIVED)
    assert (first.raw, second.raw) == tuple(body["data"])
    assert facts(first) == [
        "contact_name",
        f"message:{BATCH_IDS[0]}",
        "conversation:conv_01JDX9AAAA01:opened",
    ]
    assert facts(second) == ["contact_name", f"message:{BATCH_IDS[1]}"]
    name = first.commands[0]
    assert isinstance(name, ReportContactName)
    assert (name.phone, name.name) == (SARI, "Sari Dewi")  # camelCase contactName
    image = second.commands[1]
    assert isinstance(image, RecordInboundMessage)
    assert (image.message_type, image.text) == ("image", "ini katalog saya")
    assert image.media == {
        "image": {"id": "1234567890", "mime_type": "image/jpeg", "caption": "ini katalog saya"}
    }
    # One delivery, one idempotency key, many facts.
    assert {c.said.idempotency_key for item in (first, second) for c in item.commands} == {"idem-1"}


@pytest.mark.parametrize(
    ("shape", "header"),
    [
        ("header", True),  # X-Webhook-Batch: true, body {"data": [...]}
        ("flag", False),  # body {"batch": true, "data": [...]}
        ("data", False),  # body {"data": [...]} alone
    ],
)
def test_batch_detection(shape: str, header: bool) -> None:
    elements = sample_json("kapso-message-received-batch.json")["data"]
    body: dict[str, Any] = {"data": elements}
    if shape == "flag":
        body["batch"] = True
    assert is_batch(body, header)
    items = translate(body, RECEIVED, batch_header=header)
    assert [facts(i)[1] for i in items] == [f"message:{m}" for m in BATCH_IDS]


def test_single_event_is_not_a_batch() -> None:
    assert not is_batch(sample_json("kapso-message-received.json"), False)
    assert not is_batch([1], True)


def test_batch_type_wins_over_the_header() -> None:
    body = sample_json("kapso-message-received-batch.json")
    items = translate(body, "whatsapp.message.sent", batch_header=True)
    assert all(i.event_type == RECEIVED for i in items)


def test_unknown_event_is_kept_unhandled() -> None:
    body = {"phone_number_id": "109876543210987", "thing": {"id": 1}}
    [item] = translate(body, "whatsapp.template.approved")
    assert item.commands == []
    assert item.unhandled_reason == "unknown event type 'whatsapp.template.approved'"
    assert (item.event_type, item.raw, item.phone_number_id) == (
        "whatsapp.template.approved",
        body,
        "109876543210987",
    )


def test_unknown_event_of_any_shape_is_kept_unhandled() -> None:
    body = {
        "conversation": {"phone_number_id": "109876543210987"},
        "message": {"reaction": {"emoji": "+1"}},
    }  # no message id: not a known shape
    [item] = translate(body, "whatsapp.message.reaction_added")
    assert (item.commands, item.raw, item.phone_number_id) == ([], body, "109876543210987")
    assert item.unhandled_reason is not None


def test_missing_event_header_is_kept_unhandled() -> None:
    [item] = translate(sample_json("kapso-message-received.json"), None)
    assert item.commands == []
    assert item.unhandled_reason is not None


def test_unknown_events_in_a_batch_are_each_kept() -> None:
    body = {"type": "whatsapp.widget.spun", "data": [{"a": 1}, {"b": 2}]}
    items = translate(body, None)
    assert [i.raw for i in items] == [{"a": 1}, {"b": 2}]
    assert all(i.unhandled_reason and not i.commands for i in items)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["message"].update(**{"from": "abc123"}), "message.from"),
        (
            lambda b: (b["message"].pop("from"), b["conversation"].update(phone_number="abc123")),
            "conversation.phone_number",
        ),
        (
            lambda b: (b["message"].pop("from"), b["conversation"].pop("phone_number")),
            "conversation.phone_number",
        ),
        (lambda b: b["message"].pop("id"), "message.id"),
        (lambda b: b["message"].update(id=""), "message.id"),
        (lambda b: b.pop("message"), "message"),
        (lambda b: b.update(message="hello"), "message"),
    ],
)
def test_junk_is_kept_raw_naming_the_field(mutate: Any, field: str) -> None:
    body = sample_json("kapso-message-received.json")
    mutate(body)
    [item] = translate(body)
    assert (item.commands, item.raw) == ([], body)
    assert (item.unhandled_reason or "").startswith(f"{field}:"), item.unhandled_reason


def test_junk_in_a_batch_is_kept_raw_beside_the_good_elements() -> None:
    body = sample_json("kapso-message-received-batch.json")
    body["data"][1]["conversation"]["phone_number"] = "abc123"
    items = translate(body, None)
    assert [bool(i.commands) for i in items] == [True, False]
    assert (items[1].unhandled_reason or "").startswith("data.1.conversation.phone_number:")
    assert items[1].raw == body["data"][1]


def test_batch_element_that_is_no_object_is_kept_raw() -> None:
    good, bad = translate(
        {"type": RECEIVED, "data": [sample_json("kapso-message-received.json"), 7]}, None
    )
    assert good.commands
    assert not bad.commands
    assert (bad.part, bad.raw) == ("data.1", 7)
    assert (bad.unhandled_reason or "").startswith("data.1")


def test_conversation_event_needs_an_id() -> None:
    body = sample_json("kapso-conversation-ended.json")
    del body["conversation"]["id"]
    [item] = translate(body, "whatsapp.conversation.ended")
    assert item.commands == []
    assert (item.unhandled_reason or "").startswith("conversation.id:")


def test_non_object_body_is_kept_raw() -> None:
    [item] = translate("hello")
    assert (item.raw, item.commands) == ("hello", [])
    assert item.unhandled_reason == "body: a JSON object is expected"
