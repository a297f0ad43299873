"""Hostile input, on every backend: each is a clear 4xx naming what is wrong, nothing is
stored, and the server stays healthy; the valid controls alongside do get through.

Oversized bodies are sent straight to the ASGI app (the test client would buffer them
first), so the test sees how much of the body the app read before refusing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient
from starlette.types import Message

from adapters.webhooks.payloads import KAPSO_RECEIVED
from api.http.query_schemas import AsOfParams, AuditParams, LeadListParams
from api.http.routes import ENDPOINTS
from domain.extracted import ExtractedData
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import (
    AUTH,
    CONSOLE_AUTH,
    HUMAN_AUTH,
    OTHER_AUTH,
    OTHER_SARAH_AUTH,
    SARAH_AUTH,
    auth_for,
    kapso_headers,
    kapso_inbound,
    ledger_size,
    meta_headers,
    post_kapso,
)

LIMIT = 1024 * 1024
CHUNK = 8 * 1024
PHONE = "+6281399990001"
OTHER_PHONE = "+6281399990002"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = settings_for(database_url, tmp_path)
    built = bootstrap(settings.model_copy(update={"max_body_bytes": LIMIT}))
    yield built
    built.close()


@dataclass
class Ours:
    id: str  # a lead of ours, so commands on it would append
    added: int = 0  # events the test's valid controls appended


@pytest.fixture
def ours(client: TestClient, services: Services) -> Iterator[Ours]:
    """Our lead, and one of another workspace; after the test, the server is healthy and
    the ledger holds only what the test's valid requests added."""
    lead = Ours(sarah(client, {"contact_phone": PHONE, "state": "greeting"}))
    sarah(client, {"contact_phone": OTHER_PHONE, "state": "greeting"}, OTHER_SARAH_AUTH)
    services.views.catch_up()
    before = ledger_size(services)
    yield lead
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert ledger_size(services) == before + lead.added
    services.views.catch_up()
    assert services.views.status().failures == 0  # every stored event made it to the views


def sarah(client: TestClient, body: dict[str, Any], auth: dict[str, str] = SARAH_AUTH) -> str:
    resp = client.post("/sarah/state", json=body, headers=auth)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["lead_id"])


def refused(
    resp: httpx.Response,
    status: int,
    field: str | None = None,
    case: Any = None,
) -> None:
    assert resp.status_code == status, (case, resp.text[:300])
    error = resp.json()["error"]
    assert error["status"] == status, case
    if field is not None:
        assert error.get("field") == field, (case, error)


# -- bodies: size ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawAnswer:
    status: int
    body: bytes
    chunks_read: int


def body_routes(lead: str) -> list[tuple[str, dict[str, str]]]:
    """Every POST route, with the credentials it needs, from the declarations."""
    posts = [e for e in ENDPOINTS if e.method == "POST"]
    assert len(posts) >= 6
    signed = {
        "kapso_signature": {"X-Webhook-Signature": "0" * 64},
        "meta_signature": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    }
    routes = []
    for e in posts:
        path = e.path.replace("{lead_id}", lead)
        credentials = auth_for(path) if e.auth == "bearer" else signed[e.auth]
        routes.append((path, {**JSON, **credentials}))
    return routes


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_oversized_bodies_are_refused_before_being_read(
    client: TestClient,
    services: Services,
    ours: Ours,
    declared: bool,
) -> None:
    chunks = 4 * LIMIT // CHUNK
    for path, headers in body_routes(ours.id):
        answer = send_raw(client, path, headers, chunks, declared)
        assert answer.status == 413, (path, answer.body)
        assert json.loads(answer.body)["error"]["code"] == "payload_too_large"
        # Declared: refused from the header alone. Streamed: stops just past the limit.
        if declared:
            assert answer.chunks_read == 0, path
        else:
            assert 0 < answer.chunks_read <= LIMIT // CHUNK + 1, path


def send_raw(
    client: TestClient, path: str, headers: dict[str, str], chunks: int, declared: bool
) -> RawAnswer:
    """POST `chunks` chunks of a JSON-looking body straight to the app, counting reads."""
    app, portal = client.app, client.portal
    assert portal is not None
    read = 0
    status = 0
    body = b""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if declared:
        raw.append((b"content-length", str(chunks * CHUNK).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> Message:
        nonlocal read
        if read == chunks:
            return {"type": "http.disconnect"}
        read += 1
        chunk = (b'{"x": "' + b"y" * CHUNK)[:CHUNK]
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message: Message) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    async def call() -> None:
        await app(scope, receive, send)

    portal.call(call)
    return RawAnswer(status, body, read)


# -- bodies: shape and text -----------------------------------------------------------------


def post_everywhere(
    client: TestClient, lead: str, raw: bytes, status: int, field: str | None = "body"
) -> None:
    """The same bytes to every body route (webhooks validly signed): refused alike."""
    for path, headers in [
        ("/sarah/state", {**JSON, **SARAH_AUTH}),
        (f"/leads/{lead}/notes", {**JSON, **HUMAN_AUTH}),
        ("/webhook/kapso", kapso_headers(raw, KAPSO_RECEIVED)),
        ("/webhook/meta", meta_headers(raw)),
    ]:
        refused(client.post(path, content=raw, headers=headers), status, field, (path, raw[:40]))


def test_deeply_nested_json_is_400_not_a_crash(client: TestClient, ours: Ours) -> None:
    depth = 100_000
    for raw in [
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        json.dumps(
            {"contact_phone": PHONE, "state": "greeting", "extracted_data": {"x": _nested(70)}}
        ).encode(),
    ]:
        assert len(raw) < LIMIT
        post_everywhere(client, ours.id, raw, 400)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_huge_flat_json_under_the_limit_is_refused(client: TestClient, ours: Ours) -> None:
    flat_list = json.dumps(list(range(40_000))).encode()
    assert len(flat_list) < LIMIT
    for path in ("/sarah/state", f"/leads/{ours.id}/notes"):
        headers = {**JSON, **auth_for(path)}
        refused(client.post(path, content=flat_list, headers=headers), 422, "body", path)
    # A signed webhook delivery is never refused past its JSON: it is kept raw, with why.
    for path, headers in [
        ("/webhook/kapso", kapso_headers(flat_list, KAPSO_RECEIVED)),
        ("/webhook/meta", meta_headers(flat_list)),
    ]:
        resp = client.post(path, content=flat_list, headers=headers)
        assert resp.status_code == 200, (path, resp.text[:200])
        [part] = resp.json()["parts"]
        assert (part["outcome"], part["reason"]) == (
            "kept_unhandled",
            "body: a JSON object is expected",
        )
        ours.added += 1
    many_keys = {"contact_phone": PHONE, "state": "greeting", **{f"k{i}": i for i in range(15_000)}}
    resp = client.post("/sarah/state", json=many_keys, headers=SARAH_AUTH)
    refused(resp, 422)
    assert resp.json()["error"]["field"].startswith("k")
    big_extract = {
        "contact_phone": PHONE,
        "state": "greeting",
        "extracted_data": {f"k{i}": "v" for i in range(10_000)},
    }
    refused(
        client.post("/sarah/state", json=big_extract, headers=SARAH_AUTH), 422, "extracted_data"
    )


INVALID_TEXT = {
    "overlong-slash": b'{"contact_phone": "\xc0\xaf"}',
    "lone-continuation": b'{"contact_phone": "\x80"}',
    "truncated-sequence": b'{"contact_phone": "\xe2\x82"}',
    "latin-1": b'{"contact_phone": "Jos\xe9"}',
    "utf-16": '{"contact_phone": "1"}'.encode("utf-16"),
    "lone-surrogate-escape": b'{"contact_phone": "0812", "state": "greeting", '
    b'"extracted_data": {"name": "\\ud800"}}',
    "lone-surrogate-key": b'{"content": "hi", "author": "ana", "\\udfff": 1}',
}


def test_invalid_unicode_is_400(client: TestClient, ours: Ours) -> None:
    for raw in INVALID_TEXT.values():
        post_everywhere(client, ours.id, raw, 400)


NUL_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    (
        "/sarah/state",
        {"contact_phone": PHONE, "state": "greeting", "extracted_data": {"name": "Bu\x00di"}},
        "extracted_data",
    ),
    (
        "/sarah/state",
        {"contact_phone": PHONE, "state": "greeting", "extracted_data": {"pain": [{"x\x00": 1}]}},
        "extracted_data",
    ),
    ("/sarah/state", {"contact_phone": PHONE, "state": "greeting", "outcome": "\x00"}, "outcome"),
    ("notes", {"content": "a\x00b", "author": "ana"}, "content"),
    ("notes", {"content": "ab", "author": "an\x00a"}, "author"),
    (
        "status",
        {"status": "qualified", "source": "human", "actor": "ana", "reason": "\x00"},
        "reason",
    ),
    ("status/release", {"actor": "\x00"}, "actor"),
]


def test_nul_in_command_text_is_422(client: TestClient, ours: Ours) -> None:
    """PostgreSQL text cannot hold NUL: it would be in the ledger, never in the views."""
    for path, body, field in NUL_FIELDS:
        url = path if path.startswith("/") else f"/leads/{ours.id}/{path}"
        refused(client.post(url, json=body, headers=auth_for(url)), 422, field, (path, body))


def test_emoji_and_right_to_left_text_round_trip(
    client: TestClient, services: Services, ours: Ours
) -> None:
    fraktur = "\U0001d518\U0001d52b\U0001d526"  # astral-plane letters
    extracted = {
        "name": "Budi 👩🏽‍💻 بودي",
        "business_type": "חנות אונליין",
        "domisili": "\u202eBandung\u202c",
        "pain_points": ["Zoe\u0308", f"{fraktur} 🇮🇩"],
        "قيمة": None,
    }
    note = "اتصلت — wants a demo 🗓️ יום שני"
    person = "דנה"
    author = f"{person} via crm-console"  # a console key acting for her
    sarah(client, {"contact_phone": PHONE, "state": "listening", "extracted_data": extracted})
    resp = client.post(
        f"/leads/{ours.id}/notes",
        json={"content": note, "author": person, "on_behalf_of": person},
        headers=CONSOLE_AUTH,
    )
    assert resp.status_code == 200, resp.text
    message = kapso_inbound("wamid.rtl.1", PHONE[1:], PHONE, name="سارة 🌙")
    message["message"]["text"]["body"] = note
    resp = post_kapso(client, message, KAPSO_RECEIVED)
    assert resp.status_code == 200, resp.text
    ours.added = 2 + len(resp.json()["facts"])  # Sarah's report, the note, the delivery
    services.views.catch_up()
    lead = client.get(f"/leads/{ours.id}", headers=AUTH).json()
    assert (lead["sarah_name"], lead["business_type"], lead["domisili"]) == (
        extracted["name"],
        extracted["business_type"],
        extracted["domisili"],
    )
    assert lead["pain_points"] == extracted["pain_points"]
    assert lead["name"] == "سارة 🌙"
    assert {k: lead["extracted"][k] for k in extracted if extracted[k]} == {
        k: v for k, v in extracted.items() if v
    }
    events = client.get(f"/leads/{ours.id}/events", headers=AUTH).json()["events"]
    reported = [e["data"]["extracted_data"] for e in events if "extracted_data" in e["data"]]
    # Stored typed (SarahPhaseReported v2): every text exactly as said, the null dropped.
    assert reported[-1] == ExtractedData.from_sarah(extracted).to_event()
    assert reported[-1]["sarah_name"] == extracted["name"]
    assert reported[-1]["pain_points"] == extracted["pain_points"]
    [saved] = client.get(f"/leads/{ours.id}/notes", headers=AUTH).json()["notes"]
    assert (saved["content"], saved["actor"]) == (note, author)
    [said] = client.get(f"/leads/{ours.id}/messages", headers=AUTH).json()["messages"]
    assert said["text"] == note
    for q in ["بودي", "👩🏽‍💻", "אונליין"]:
        found = client.get("/leads", params={"q": q}, headers=AUTH).json()["leads"]
        assert [x["lead_id"] for x in found] == [ours.id], q
    audit = client.get("/audit", params={"actor": author}, headers=AUTH).json()["entries"]
    assert [e["content"] for e in audit] == [note]


# -- query strings --------------------------------------------------------------------------

HOSTILE = [
    "'",
    '"',
    "`",
    ";",
    "--",
    "/*",
    "*/",
    "%",
    "_",
    "\\",
    "\x00",
    "%00",
    "' OR 1=1 --",
    "1; DROP TABLE ll_contacts_l5_g1; --",  # the live contact view's real name
    "$$",
    "' UNION SELECT 1 --",
    "\ufffd",
    "x" * 2000,
    "0.5",
    "1700000000",
    "-1",
    "9" * 40,
    "NaN",
    "[]",
    "{}",
]


@pytest.mark.parametrize(
    ("path", "model"),
    [("/leads", LeadListParams), ("/audit", AuditParams), ("/leads/{lead_id}", AsOfParams)],
)
def test_hostile_values_in_every_query_parameter(
    client: TestClient,
    services: Services,
    ours: Ours,
    path: str,
    model: type[BaseModel],
) -> None:
    url = path.replace("{lead_id}", ours.id)
    for name in model.model_fields:
        for value in HOSTILE:
            resp = client.get(url, params={name: value}, headers=AUTH)
            assert resp.status_code in (200, 422), (name, value, resp.text[:200])
            if resp.status_code == 422:
                assert resp.json()["error"]["field"] == name, (name, value)
            assert OTHER_PHONE not in resp.text, (name, value)
    # The tables are intact, and the other workspace still sees its lead.
    assert [x["phone"] for x in client.get("/leads", headers=AUTH).json()["leads"]] == [PHONE]
    assert client.get("/stats", headers=OTHER_AUTH).json()["total"] == 1


def test_hostile_path_parameters(client: TestClient, ours: Ours) -> None:
    for value in ["'", "1' OR '1'='1", "%00", "%FF", "..%2F..%2Fetc", "\u202e", "🙂" * 50]:
        raw = quote(value, safe="%")
        for url in [f"/leads/{raw}", f"/leads/{raw}/notes", f"/leads/by-phone/{raw}"]:
            resp = client.get(url, headers=AUTH)
            assert resp.status_code in (404, 422), (url, resp.text)
            assert OTHER_PHONE not in resp.text


def test_time_parameters_take_iso_8601_only(client: TestClient, ours: Ours) -> None:
    for value in ["0.5", "1700000000", "yesterday", "24/11/2026"]:
        for path, name in [
            ("/leads", "updated_since"),
            ("/audit", "until"),
            (f"/leads/{ours.id}", "as_of"),
        ]:
            refused(client.get(path, params={name: value}, headers=AUTH), 422, name, value)
    ok = client.get("/audit", params={"until": "2100-01-01T00:00:00+07:00"}, headers=AUTH)
    assert ok.status_code == 200


# -- values out of range --------------------------------------------------------------------


def test_out_of_range_scores_are_422(client: TestClient, ours: Ours) -> None:
    for score in ["-1", "101", "1e309", '"abc"', "true", "50.5", "1" + "0" * 30]:
        raw = f'{{"contact_phone": "{PHONE}", "state": "greeting", "lead_score": {score}}}'
        resp = client.post("/sarah/state", content=raw.encode(), headers={**JSON, **SARAH_AUTH})
        # 1e309 is no number a double holds: refused while parsing, like NaN (still named).
        refused(resp, 400 if score == "1e309" else 422, "lead_score", score)


UNKNOWN_ENUMS: list[tuple[str, dict[str, Any], str]] = [
    ("/sarah/state", {"contact_phone": PHONE, "state": "GREETING"}, "state"),
    ("/sarah/state", {"contact_phone": PHONE, "state": " greeting"}, "state"),
    (
        "/sarah/state",
        {"contact_phone": PHONE, "state": "greeting", "lead_temperature": "HOT"},
        "lead_temperature",
    ),
    ("status", {"status": "Qualified", "source": "human", "actor": "ana"}, "status"),
    ("status", {"status": "qualified", "source": "sarah", "actor": "ana"}, "source"),
    ("notes", {"content": "hi", "author": "ana", "source": "alien"}, "source"),
]


def test_unknown_enum_values_are_422(client: TestClient, ours: Ours) -> None:
    for path, body, field in UNKNOWN_ENUMS:
        url = path if path.startswith("/") else f"/leads/{ours.id}/{path}"
        refused(client.post(url, json=body, headers=auth_for(url)), 422, field, body)
    for path, name in [("/leads", "status"), ("/leads", "temperature"), ("/audit", "source")]:
        refused(client.get(path, params={name: "QUALIFIED"}, headers=AUTH), 422, name)


def test_absurd_page_sizes_are_422(client: TestClient, ours: Ours) -> None:
    for limit in ["0", "201", str(10**30), "-1", "1e3", "0x10"]:
        for path in ["/leads", "/audit"]:
            resp = client.get(path, params={"limit": limit}, headers=AUTH)
            refused(resp, 422, "limit", limit)


# -- headers --------------------------------------------------------------------------------

SIGNATURE_HEADERS = {
    "/webhook/kapso": b"x-webhook-signature",
    "/webhook/meta": b"x-hub-signature-256",
}


def post_signed_with(client: TestClient, path: str, signature: bytes) -> httpx.Response:
    raw = json.dumps(kapso_inbound("wamid.sig.1", PHONE[1:], PHONE)).encode()
    headers = [
        (SIGNATURE_HEADERS[path], signature),
        (b"content-type", b"application/json"),
        (b"x-webhook-event", KAPSO_RECEIVED.encode()),
    ]
    resp: httpx.Response = client.post(path, content=raw, headers=headers)
    return resp


def test_malformed_signatures_are_401(client: TestClient, ours: Ours) -> None:
    """Checked on the raw bytes, whatever the header holds: never a 500."""
    for signature in [
        b"sha256=" + b"g" * 64,
        b"0" * 10_000,
        b"\x00" * 64,
        b"sha256=",
        b" sha256 = abc ",
        b"sha256=" + b"0" * 64,
        b"sha256=" + b"\xe9" * 64,
        "sha256=\u00e9".encode(),
    ]:
        for path in SIGNATURE_HEADERS:
            refused(post_signed_with(client, path, signature), 401, case=(path, signature))


KEYS = [
    b"k1\r\nX-Injected: yes",
    b"k2\nSet-Cookie: a=b",
    b"k3\x00",
    "k4-\u00e9t\u00e9".encode("latin-1"),
    b"k" * 201,
    b"",
]


def test_idempotency_key_injection(client: TestClient, services: Services, ours: Ours) -> None:
    """Odd keys are either refused or just keys: never echoed as headers, never merged."""
    for key in KEYS:
        headers = [
            (b"authorization", HUMAN_AUTH["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"idempotency-key", key),
        ]
        body = json.dumps({"content": f"note {KEYS.index(key)}", "author": "ana"}).encode()
        first = client.post(f"/leads/{ours.id}/notes", content=body, headers=headers)
        assert "x-injected" not in first.headers, key
        assert "set-cookie" not in first.headers, key
        if first.status_code == 422:
            assert first.json()["error"]["field"] == "Idempotency-Key", key
            continue
        assert first.status_code == 200, (key, first.text)
        ours.added += 1
        before = ledger_size(services)
        again = client.post(f"/leads/{ours.id}/notes", content=body, headers=headers)
        assert again.status_code == 200, key
        assert ledger_size(services) == before, key  # the same command: recorded once
        assert again.json()["position"] == first.json()["position"], key
