"""Crafted input that used to reach the database or the encoder and come back as a 500, or
be stored changed: forged cursors, a nested import mapping, numbers a double cannot hold,
lists and texts past any sensible size. Each is a clear 4xx naming what is wrong, and
nothing is stored. On every backend (the integer bounds differ between them)."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from api.http.bounds import MAX_ITEMS, MAX_TEXT
from domain.identity import lead_id_for
from domain.reducer.content import flow_answers
from service_layer.bootstrap import Services
from tests.support import AUTH, WORKSPACE, ledger_size, post_kapso

PHONE = "+6281377770001"
LEAD = "8b0d3d9a-8c4e-4f0a-9c7e-2b9a4c1e0f11"
JSON = {**AUTH, "Content-Type": "application/json"}


def forged(*payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(payload)).encode()).decode().rstrip("=")


def sarah_raw(client: TestClient, raw: str) -> Any:
    return client.post("/sarah/state", content=raw.encode(), headers=JSON)


def refused(resp: Any, status: int, field: str) -> str:
    assert resp.status_code == status, resp.text[:300]
    error = resp.json()["error"]
    assert error["field"] == field, error
    return str(error["message"])


@pytest.fixture
def seeded(client: TestClient, services: Services) -> int:
    """A lead with a status change and a note (so /audit has rows); the ledger's size."""
    resp = client.post(
        "/sarah/state",
        json={"contact_phone": PHONE, "state": "greeting", "lead_score": 40},
        headers=AUTH,
    )
    assert resp.status_code == 200, resp.text
    lead = resp.json()["lead_id"]
    for path, body in (
        ("status", {"status": "qualified", "source": "human", "actor": "dewi"}),
        ("notes", {"content": "called", "author": "dewi"}),
    ):
        assert client.post(f"/leads/{lead}/{path}", json=body, headers=AUTH).status_code == 200
    services.views.catch_up()
    return ledger_size(services)


# -- cursors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cursor"),
    [
        ("sort=lead_score", forged("leads/lead_score/desc", 2**63, LEAD)),
        ("sort=lead_score", forged("leads/lead_score/desc", 2**31, LEAD)),
        ("sort=lead_score&order=asc", forged("leads/lead_score/asc", -(2**31) - 1, LEAD)),
        ("sort=lead_score", forged("leads/lead_score/desc", 1.5, LEAD)),
        ("sort=updated_at", forged("leads/updated_at/desc", "0001-01-01T00:00:00+14:00", LEAD)),
        ("sort=updated_at", forged("leads/updated_at/desc", "9999-12-31T23:59:59-14:00", LEAD)),
        ("", forged("leads/last_message_at/desc", "2026-11-24T10:00:00+00:00", 7)),
        ("sort=lead_score", "W10" + "=" * 3),
    ],
)
def test_forged_lead_cursors_are_422(
    client: TestClient, seeded: int, query: str, cursor: str
) -> None:
    message = refused(client.get(f"/leads?{query}&cursor={cursor}", headers=AUTH), 422, "cursor")
    assert message.startswith("cursor: ")


@pytest.mark.parametrize(
    "cursor",
    [
        forged("audit", "2026-11-24T10:00:00+00:00", LEAD, 2**63),
        forged("audit", "2026-11-24T10:00:00+00:00", LEAD, 2**31),
        forged("audit", "0001-01-01T00:00:00+14:00", LEAD, 1),
        forged("audit", "2026-11-24T10:00:00+00:00", LEAD, True),
    ],
)
def test_forged_audit_cursors_are_422(client: TestClient, seeded: int, cursor: str) -> None:
    refused(client.get(f"/audit?cursor={cursor}", headers=AUTH), 422, "cursor")


def test_cursors_at_the_edge_of_the_columns_range_still_page(
    client: TestClient, seeded: int
) -> None:
    """The largest values an INTEGER column holds are valid keys: every backend compares them."""
    top = forged("leads/lead_score/desc", 2**31 - 1, LEAD)
    resp = client.get(f"/leads?sort=lead_score&cursor={top}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert [lead["phone"] for lead in resp.json()["leads"]] == [PHONE]
    edge = forged("audit", "9999-12-31T00:00:00+00:00", LEAD, 2**31 - 1)
    resp = client.get(f"/audit?cursor={edge}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    # Everything is before the edge: Sarah's and dewi's status changes and the note.
    assert [e["kind"] for e in resp.json()["entries"]] == ["note", "status", "status"]


def test_an_import_mapping_nested_2000_deep_is_422(
    client: TestClient, services: Services, seeded: int
) -> None:
    mapping = "legacy_status = " + "[" * 2000 + "]" * 2000 + "\n"
    body = {"contacts": "{}\n", "mapping": mapping}
    message = refused(client.post("/imports", json=body, headers=AUTH), 422, "mapping")
    assert "nested too deeply" in message
    assert ledger_size(services) == seeded


# -- numbers a double cannot hold ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"extracted_data": {"revenue": 1e400}', "extracted_data.revenue"),
        ('"extracted_data": {"pain_points": ["mahal", -1E+400]}', "extracted_data.pain_points.1"),
        ('"lead_score": 1e400', "lead_score"),
    ],
)
def test_a_number_past_a_double_is_400_naming_its_field(
    client: TestClient, services: Services, seeded: int, raw: str, field: str
) -> None:
    body = f'{{"contact_phone": "{PHONE}", "state": "listening", {raw}}}'
    message = refused(sarah_raw(client, body), 400, field)
    assert "out of range" in message
    assert ledger_size(services) == seeded


def test_a_signed_webhook_carrying_1e400_is_refused_whole(
    client: TestClient, services: Services, seeded: int
) -> None:
    resp = post_kapso(client, b'{"phone_number_id": "1", "amount": 1e400}', "whatsapp.x.y")
    refused(resp, 400, "amount")
    assert ledger_size(services) == seeded


def test_an_imported_row_with_1e400_metadata_is_rejected_not_nulled(
    client: TestClient, services: Services, seeded: int
) -> None:
    row = '{"_id": "c9", "phone": "0813-7777-0002", "metadata": {"omzet": 1e400}}\n'
    resp = client.post("/imports", json={"contacts": row}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    [reject] = resp.json()["rejects"]
    assert (reject["line"], reject["reason"]) == (1, "broken_json")
    assert "1e400 is out of range" in reject["detail"]
    assert ledger_size(services) == seeded
    csv = '_id,phone,metadata\nc9,0813-7777-0002,"{""omzet"": 1e400}"\n'
    resp = client.post("/imports", json={"contacts": csv, "format": "csv"}, headers=AUTH)
    [reject] = resp.json()["rejects"]
    assert "out of range" in reject["detail"]
    assert ledger_size(services) == seeded


@pytest.mark.parametrize("text", ['{"a": 1e400}', '{"a": NaN}', "Infinity"])
def test_flow_answers_a_double_cannot_hold_stay_text(text: str) -> None:
    assert flow_answers({"nfm_reply": {"response_json": text}}) == text
    assert flow_answers({"nfm_reply": {"response_json": '{"a": 1.5}'}}) == {"a": 1.5}


# -- bounds on Sarah's free-form data ----------------------------------------------------------


@pytest.mark.parametrize(
    ("extracted", "field", "bound"),
    [
        ({"pain_points": ["x"] * (MAX_ITEMS + 1)}, "extracted_data.pain_points", "100 items"),
        ({"domisili": "B" * (MAX_TEXT + 1)}, "extracted_data.domisili", "2000 characters"),
        ({"pain_points": ["ok", "y" * (MAX_TEXT + 1)]}, "extracted_data.pain_points.1", "2000"),
        ({"omzet": {"k": list(range(MAX_ITEMS + 1))}}, "extracted_data.omzet.k", "100 items"),
    ],
)
def test_sarah_lists_and_texts_past_their_bound_are_422(
    client: TestClient,
    services: Services,
    seeded: int,
    extracted: dict[str, Any],
    field: str,
    bound: str,
) -> None:
    body = {"contact_phone": PHONE, "state": "listening", "extracted_data": extracted}
    message = refused(client.post("/sarah/state", json=body, headers=AUTH), 422, field)
    assert bound in message
    assert ledger_size(services) == seeded


def test_sarah_data_at_its_bounds_is_recorded(client: TestClient, services: Services) -> None:
    points = [f"p{i}" for i in range(MAX_ITEMS)]
    body = {
        "contact_phone": PHONE,
        "state": "listening",
        "extracted_data": {"pain_points": points, "domisili": "B" * MAX_TEXT},
    }
    resp = client.post("/sarah/state", json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    services.views.catch_up()
    lead = lead_id_for(WORKSPACE, PHONE)
    view = client.get(f"/leads/{UUID(str(lead))}", headers=AUTH).json()
    assert view["pain_points"] == points
