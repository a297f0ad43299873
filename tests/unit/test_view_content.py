"""The content kept whole, in the contact view and its message entries (events built from
plain values as the write side's contract stores them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY
from domain.reducer import PERSONAL_COLUMNS, LedgerEvent, replay

AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LEAD = lead_id_for("acme", "wa_user:US.123")


def event(position: int, event_type: str, **data: Any) -> LedgerEvent:
    """The source's time is `position` minutes after AT unless `minute` says otherwise."""
    at = AT + timedelta(minutes=data.pop("minute", position))
    return LedgerEvent(LEAD, position, position, event_type, at, {"occurred_at": at, **data})


def inbound(position: int, message_id: str, message_type: str, **data: Any) -> LedgerEvent:
    return event(
        position, "InboundMessageReceived", message_id=message_id, message_type=message_type, **data
    )


REGISTERED = event(1, "Registered", workspace="acme", phone="wa_user:US.123")


def fold(*events: LedgerEvent) -> Any:
    """Replayed in ledger order (by position)."""
    return replay([REGISTERED, *sorted(events, key=lambda e: e.position)], DEFAULT_POLICY)


def test_a_bsuid_lead_shows_its_user_id_and_the_phone_linked_later() -> None:
    linked = event(
        2, "IdentityLinked", identity="+525512345678", kind="phone", reason="seen_together"
    )
    view = fold(linked)[0]
    assert (view.phone, view.wa_user_id) == ("+525512345678", "US.123")
    assert view.linked_identities == [
        {"kind": "phone", "identity": "+525512345678", "reason": "seen_together"}
    ]


def test_first_and_last_touch_referrals_flow_answers_and_location() -> None:
    ad = {
        "source_url": "https://fb.me/a",
        "source_type": "ad",
        "headline": "Promo",
        "ctwa_clid": "c1",
    }
    view = fold(  # the later ad arrives first
        inbound(2, "m2", "text", referral={**ad, "ctwa_clid": "c2"}, minute=3),
        inbound(3, "m1", "text", referral=ad, minute=2),
        inbound(
            4,
            "m3",
            "interactive",
            content={
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {"response_json": '{"city": "Jakarta"}'},
                }
            },
        ),
        inbound(
            5,
            "m4",
            "interactive",
            content={
                "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "not json"}}
            },
        ),
        inbound(6, "m5", "location", content={"location": {"latitude": -6.2, "longitude": 106.8}}),
    )[0]
    assert view.first_referral["ctwa_clid"] == "c1"
    assert view.last_referral["ctwa_clid"] == "c2"
    assert view.last_referral["headline"] == "Promo"
    assert view.flow_answers["answers"] == "not json"  # the latest, kept as text
    assert view.last_location["latitude"] == -6.2


def test_a_flow_reply_is_parsed_as_json() -> None:
    reply = {"interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": '{"a": 1}'}}}
    assert fold(inbound(2, "m1", "interactive", content=reply))[0].flow_answers["answers"] == {
        "a": 1
    }


def test_reactions_land_on_their_message_and_a_removed_one_disappears() -> None:
    react = {"reaction": {"message_id": "m1", "emoji": "👍"}}
    unreact = {"reaction": {"message_id": "m1", "emoji": ""}}
    _, _, _, found = fold(
        inbound(2, "m1", "text", text="hi"), inbound(3, "r1", "reaction", content=react)
    )
    assert [r["emoji"] for r in found["m1"].reactions] == ["👍"]
    assert "r1" not in found  # a reaction is no message of its own
    _, _, _, found = fold(
        inbound(2, "r1", "reaction", content=react),  # before its message: still attached
        inbound(3, "m1", "text", text="hi"),
        inbound(4, "r2", "reaction", content=unreact),
    )
    assert found["m1"].reactions is None
    assert found["m1"].text == "hi"


def test_an_edit_replaces_the_text_and_keeps_the_original_and_a_revoke_marks_deleted() -> None:
    edit = {
        "edit": {"original_message_id": "m1", "message": {"type": "text", "text": {"body": "new"}}}
    }
    for message, edited in ((2, 3), (3, 2)):  # the edit may arrive first
        _, _, _, found = fold(
            inbound(message, "m1", "text", text="old"),
            inbound(edited, "e1", "edit", content=edit),
        )
        assert (found["m1"].text, found["m1"].original_text, found["m1"].edited) == (
            "new",
            "old",
            True,
        )
    revoke = {"revoke": {"original_message_id": "m1"}}
    _, _, _, found = fold(
        inbound(2, "m1", "text", text="x"), inbound(3, "v1", "revoke", content=revoke)
    )
    assert found["m1"].deleted


def test_echoes_are_outbound_and_status_only_messages_count_once_with_their_error() -> None:
    echo = event(
        2, "OutboundMessageSent", message_id="o1", message_type="text", text="hi", echo=True
    )
    failed = event(
        3,
        "MessageStatusChanged",
        message_id="o2",
        status="failed",
        errors=[{"code": 131049, "title": "ecosystem"}],
    )
    late = event(4, "OutboundMessageSent", message_id="o2", message_type="template", text=None)
    view, _, _, found = fold(echo, failed, late)
    assert found["o1"].echo
    assert found["o1"].direction == "outbound"
    assert view.conversation_status == "handover"  # a person typed it
    assert (found["o2"].direction, found["o2"].error_code, found["o2"].error_title) == (
        "outbound",
        131049,
        "ecosystem",
    )
    assert view.outbound_count == 2


def test_an_erasure_blanks_every_new_personal_view_field() -> None:
    ad = {"headline": "Promo", "ctwa_clid": "c1"}
    erased = event(4, "PersonalDataErased", reason="request", actor="dpo")
    view = fold(
        event(2, "IdentityLinked", identity="+525512345678", kind="phone", reason="seen_together"),
        inbound(3, "m1", "location", referral=ad, content={"location": {"latitude": 1}}),
        erased,
    )[0]
    for column in (
        "wa_user_id",
        "linked_identities",
        "first_referral",
        "last_referral",
        "last_location",
        "phone",
    ):
        assert column in PERSONAL_COLUMNS
        assert getattr(view, column) is None
