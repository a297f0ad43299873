"""The fixture manifest matches the bodies it describes, so a later acceptance test can
count on it: every file listed, one part per customer-level fact in the body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "whatsapp"
MANIFEST: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
KAPSO_EVENTS = {
    "whatsapp.message.received",
    "whatsapp.message.sent",
    "whatsapp.message.delivered",
    "whatsapp.message.read",
    "whatsapp.message.failed",
    "whatsapp.conversation.created",
    "whatsapp.conversation.ended",
    "whatsapp.conversation.inactive",
}


def test_every_fixture_file_is_in_the_manifest_once() -> None:
    on_disk = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.json"))
    listed = [entry["file"] for entry in MANIFEST]
    assert sorted(listed) == on_disk


def _facts_in_meta_body(body: dict[str, Any]) -> int:
    assert body["object"] == "whatsapp_business_account"
    facts = 0
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            facts += len(value.get("messages", [])) + len(value.get("statuses", []))
            facts += len(value.get("message_echoes", []))
            facts += 1 if value.get("errors") else 0
    return facts


def _facts_in_kapso_body(body: dict[str, Any]) -> int:
    events: list[dict[str, Any]] = body.get("data", [body])
    assert all("conversation" in event and "phone_number_id" in event for event in events)
    return len(events)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_the_manifest_has_one_part_per_fact_of_the_body(entry: dict[str, Any]) -> None:
    body = json.loads((FIXTURES / entry["file"]).read_text())
    if entry["channel"] == "meta":
        facts = _facts_in_meta_body(body)
    else:
        assert entry["event"] in KAPSO_EVENTS
        facts = _facts_in_kapso_body(body)
    assert len(entry["parts"]) == facts
    assert entry["source"]
    assert entry["adapted"]
