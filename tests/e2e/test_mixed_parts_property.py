"""Property: in one signed body (a Meta multi-entry delivery or a Kapso batch), any mix of
valid and unusable parts is answered 200; the valid parts are stored exactly once (also
when the body is posted again) and every unusable one is kept raw with its reason."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from domain.identity import lead_id_for
from domain.lead import Lead
from service_layer.bootstrap import Services
from tests.conftest import examples
from tests.support import WORKSPACE, kapso_headers, ledger_size, meta_headers

PHONES = {"6281234567890": "+6281234567890", "5215512345678": "+525512345678"}
BSUID = "US.13491208655302741918"
# Unusable parts, each with what its reason names.
META_UNUSABLE: dict[str, tuple[Any, str]] = {
    "no identity": ({"from": "", "type": "text", "text": {"body": "?"}}, "no usable identity"),
    "junk phone": ({"from": "abc123", "type": "text"}, "from"),
    "no id": ({"from": "6281234567890", "type": "text", "id": None}, "id"),
    "not an object": (7, "an object is expected"),
}
_ids = itertools.count()


def fresh_id() -> str:
    # Unique across examples: one server serves every example, so no id is reused.
    return f"wamid.prop{next(_ids)}"


@st.composite
def meta_part(draw: st.DrawFn) -> tuple[str, Any]:
    """("valid", (message, lead key)) or ("unusable", (raw, reason))."""
    if draw(st.booleans()):
        wa_id = draw(st.sampled_from([*PHONES, ""]))
        message: dict[str, Any] = {"id": fresh_id(), "timestamp": "1750000000", "type": "text"}
        message["from"] = wa_id
        message["text"] = {"body": draw(st.text(max_size=20))}
        if not wa_id:
            message["from_user_id"] = BSUID
        return "valid", (message, PHONES.get(wa_id, f"wa_user:{BSUID}"))
    raw, reason = META_UNUSABLE[draw(st.sampled_from(sorted(META_UNUSABLE)))]
    raw = json.loads(json.dumps(raw))
    if isinstance(raw, dict):
        raw["id"] = fresh_id() if "id" not in raw else raw["id"]
    return "unusable", (raw, reason)


def meta_body(changes: list[list[tuple[str, Any]]]) -> dict[str, Any]:
    def change(parts: list[tuple[str, Any]]) -> dict[str, Any]:
        messages = [raw for _, (raw, _) in parts]
        metadata = {"phone_number_id": "109876543210987"}
        return {"field": "messages", "value": {"metadata": metadata, "messages": messages}}

    entries = [{"id": f"waba{i}", "changes": [change(c)]} for i, c in enumerate(changes)]
    return {"object": "whatsapp_business_account", "entry": entries}


@st.composite
def kapso_part(draw: st.DrawFn) -> tuple[str, Any]:
    phone = draw(st.sampled_from(sorted(PHONES)))
    element: dict[str, Any] = {
        "message": {
            "id": fresh_id(),
            "timestamp": "1750000000",
            "type": "text",
            "from": "+" + phone,
            "text": {"body": "halo"},
        },
        "conversation": {"id": "conv-prop", "phone_number": "+" + phone},
        "phone_number_id": "109876543210987",
    }
    if draw(st.booleans()):
        return "valid", (element, PHONES[phone])
    flaw = draw(st.sampled_from(["junk phone", "no id", "not an object", "no message"]))
    if flaw == "junk phone":
        element["message"]["from"] = element["conversation"]["phone_number"] = "abc123"
    elif flaw == "no id":
        del element["message"]["id"]
    elif flaw == "no message":
        del element["message"]
    return "unusable", ("oops" if flaw == "not an object" else element, flaw)


def stored_messages(services: Services, key: str) -> Counter[str]:
    events = services.store.events.get(lead_id_for(WORKSPACE, key))
    return Counter(e.message_id for e in events if isinstance(e, Lead.InboundMessageReceived))


def check(
    client: TestClient, services: Services, path: str, raw: bytes, headers: dict[str, str]
) -> list[Any]:
    resp = client.post(path, content=raw, headers=headers)
    assert resp.status_code == 200, resp.text
    size = ledger_size(services)
    again = client.post(path, content=raw, headers=headers)
    assert again.json() == resp.json()
    assert ledger_size(services) == size  # posted twice, stored once
    parts: list[Any] = resp.json()["parts"]
    return parts


@pytest.mark.parametrize("backend", ["memory"])
def test_mixed_meta_parts(client: TestClient, services: Services) -> None:
    @settings(
        max_examples=examples(0.5),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(st.lists(meta_part(), min_size=1, max_size=4), min_size=1, max_size=3))
    def run(changes: list[list[tuple[str, Any]]]) -> None:
        raw = json.dumps(meta_body(changes)).encode()
        parts = check(client, services, "/webhook/meta", raw, meta_headers(raw))
        flat = [part for change in changes for part in change]
        assert [p["outcome"] for p in parts] == [
            "recorded" if validity == "valid" else "kept_unhandled" for validity, _ in flat
        ]
        for (validity, (item, why)), part in zip(flat, parts, strict=True):
            if validity == "valid":
                assert stored_messages(services, why)[item["id"]] == 1
            else:
                assert why in part["reason"], (why, part["reason"])

    run()


@pytest.mark.parametrize("backend", ["memory"])
def test_mixed_kapso_batch(client: TestClient, services: Services) -> None:
    @settings(
        max_examples=examples(0.5),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(kapso_part(), min_size=1, max_size=6))
    def run(elements: list[tuple[str, Any]]) -> None:
        body = {"type": "whatsapp.message.received", "data": [e for _, (e, _) in elements]}
        raw = json.dumps(body).encode()
        headers = kapso_headers(raw, "whatsapp.message.received", batch=True)
        parts = check(client, services, "/webhook/kapso", raw, headers)
        assert [p["outcome"] for p in parts] == [
            "recorded" if validity == "valid" else "kept_unhandled" for validity, _ in elements
        ]
        for validity, (element, key) in elements:
            if validity == "valid":
                assert stored_messages(services, key)[element["message"]["id"]] == 1

    run()
