"""Every error status of the API: the right code, a clear JSON error, and nothing appended.

Each refused request is one that would have appended had it been accepted (a valid body on
an existing lead, a correctly shaped delivery...), so "nothing appended" can really fail.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from adapters.webhooks.payloads import KAPSO_RECEIVED
from adapters.webhooks.signatures import sign
from api.http.app import create_app
from domain.identity import lead_id_for
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import (
    API_KEY,
    AUTH,
    HUMAN_AUTH,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    OTHER_AUTH,
    OTHER_KAPSO_SECRET,
    OTHER_WORKSPACE,
    SARAH_AUTH,
    auth_for,
    kapso_headers,
    ledger_size,
    meta_headers,
    sample,
    sample_json,
)

BUDI = "+6281234567890"
LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def lead_id(client: TestClient) -> str:
    """Budi's lead, created by the Kapso sample (so commands on it would append)."""
    body = sample("kapso-message-received.json")
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, KAPSO_RECEIVED))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


@contextmanager
def appends_nothing(services: Services) -> Iterator[None]:
    before = ledger_size(services)
    yield
    assert ledger_size(services) == before


def assert_error(
    resp: httpx.Response,
    status: int,
    code: str | None = None,
    field: str | None = None,
    case: object = None,
) -> dict[str, Any]:
    """The status, and the error shape {"error": {"status", "code", "message", "field"?}}."""
    assert resp.status_code == status, (case, resp.text)
    body = resp.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert {"status", "code", "message"} <= set(error) <= {"status", "code", "message", "field"}
    assert error["status"] == status
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code, (case, error)
    if field is not None:
        assert error.get("field") == field, (case, error)
    return error


def sarah_body(**changes: Any) -> bytes:
    return json.dumps({**sample_json("sarah-phase1-gathering.json"), **changes}).encode()


def bearer_requests(lead: str) -> list[tuple[str, str, bytes | None]]:
    """Every bearer endpoint, with a body it would accept (so a bypass would append)."""
    return [
        ("POST", "/sarah/state", sarah_body()),
        (
            "POST",
            f"/leads/{lead}/status",
            json.dumps({"status": "qualified", "source": "human", "actor": "ana"}).encode(),
        ),
        ("POST", f"/leads/{lead}/status/release", json.dumps({"actor": "ana"}).encode()),
        ("POST", f"/leads/{lead}/notes", json.dumps({"content": "hi", "author": "ana"}).encode()),
        ("GET", f"/leads/{lead}/events", None),
        ("GET", f"/leads/by-phone/{quote(BUDI, safe='')}", None),
        ("GET", "/deliveries/unhandled", None),
    ]


# -- 401 ------------------------------------------------------------------------------------

BAD_AUTH = [
    {},
    {"Authorization": "Bearer wrong-key"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Basic {API_KEY}"},
    {"Authorization": API_KEY},
    {"Authorization": f"Bearer {API_KEY}x"},
]


def test_bearer_endpoints_refuse_missing_or_bad_keys(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    for auth in BAD_AUTH:
        for method, path, body in bearer_requests(lead_id):
            with appends_nothing(services):
                resp = client.request(method, path, content=body, headers={**JSON, **auth})
            assert_error(resp, 401, "unauthorized", case=(auth, method, path))
            assert resp.headers["www-authenticate"] == "Bearer", (method, path)
            assert "Budi" not in resp.text
            assert BUDI not in resp.text


def test_good_key_is_accepted_as_a_control(
    client: TestClient, services: Services, lead_id: str
) -> None:
    """The same requests with the right key succeed (the 401s above are about the key)."""
    before = ledger_size(services)
    for method, path, body in bearer_requests(lead_id):
        resp = client.request(method, path, content=body, headers={**JSON, **auth_for(path)})
        assert resp.status_code == 200, (path, resp.text)
    assert ledger_size(services) == before + 4  # Sarah, status, release, note


def kapso_signature_cases() -> list[tuple[str, dict[str, str]]]:
    body = sample("kapso-message-received.json")
    other = sample("kapso-message-delivered.json")
    good = kapso_headers(body, KAPSO_RECEIVED)
    without = {k: v for k, v in good.items() if k != "X-Webhook-Signature"}
    return [
        ("missing", without),
        ("empty", {**without, "X-Webhook-Signature": ""}),
        ("wrong-secret", kapso_headers(body, KAPSO_RECEIVED, secret="not-the-secret")),
        ("meta-secret", kapso_headers(body, KAPSO_RECEIVED, secret=META_SECRET)),
        ("other-body", {**without, "X-Webhook-Signature": sign(KAPSO_SECRET, other)}),
        ("truncated", {**without, "X-Webhook-Signature": sign(KAPSO_SECRET, body)[:-2]}),
        ("not-hex", {**without, "X-Webhook-Signature": "sha256=" + "z" * 64}),
        ("wrong-prefix", {**without, "X-Webhook-Signature": "sha1=" + sign(KAPSO_SECRET, body)}),
    ]


def test_kapso_refuses_missing_or_bad_signature(client: TestClient, services: Services) -> None:
    body = sample("kapso-message-received.json")
    for case, headers in kapso_signature_cases():
        with appends_nothing(services):
            resp = client.post("/webhook/kapso", content=body, headers=headers)
        assert_error(resp, 401, "unauthorized", case=case)
    assert ledger_size(services) == 0


def test_kapso_accepts_bare_and_sha256_prefixed_signature(
    client: TestClient,
    services: Services,
) -> None:
    for index, prefix in enumerate(["sha256=", "SHA256=", "", "sha256="]):
        body = sample_json("kapso-message-received.json")
        body["message"]["id"] = f"wamid.prefix.{index}"
        raw = json.dumps(body).encode()
        digest = sign(KAPSO_SECRET, raw)
        headers = {
            **kapso_headers(raw, KAPSO_RECEIVED),
            "X-Webhook-Signature": prefix + (digest.upper() if index == 2 else digest),
        }
        before = ledger_size(services)
        resp = client.post("/webhook/kapso", content=raw, headers=headers)
        assert resp.status_code == 200, (prefix, resp.text)
        # The first creates the lead (4 events); each later one adds its message only.
        assert ledger_size(services) == before + (4 if index == 0 else 1), prefix


def meta_signature_cases() -> list[tuple[str, dict[str, str]]]:
    body = sample("meta-text-message.json")
    digest = sign(META_SECRET, body)
    return [
        ("missing", {**JSON}),
        ("empty", {**JSON, "X-Hub-Signature-256": ""}),
        ("bare-hex", {**JSON, "X-Hub-Signature-256": digest}),
        ("wrong-secret", meta_headers(body, secret="not-the-secret")),
        ("kapso-secret", meta_headers(body, secret=KAPSO_SECRET)),
        ("other-body", meta_headers(sample("meta-status-read.json"))),
        ("prefix-only", {**JSON, "X-Hub-Signature-256": "sha256="}),
    ]


def test_meta_refuses_missing_or_bad_signature(client: TestClient, services: Services) -> None:
    for case, headers in meta_signature_cases():
        with appends_nothing(services):
            resp = client.post(
                "/webhook/meta", content=sample("meta-text-message.json"), headers=headers
            )
        assert_error(resp, 401, "unauthorized", case=case)
    assert ledger_size(services) == 0


def test_meta_accepts_its_signature_as_a_control(client: TestClient, services: Services) -> None:
    body = sample("meta-text-message.json")
    resp = client.post("/webhook/meta", content=body, headers=meta_headers(body))
    assert resp.status_code == 200, resp.text
    assert ledger_size(services) == 3


# -- 404 ------------------------------------------------------------------------------------


def test_lead_of_another_workspace_is_not_found(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    requests = [
        r
        for r in bearer_requests(lead_id)
        if r[1] != "/deliveries/unhandled" and r[1] != "/sarah/state"
    ]
    assert len(requests) == 5
    for method, path, body in requests:
        with appends_nothing(services):
            headers = {**JSON, **auth_for(path, OTHER_WORKSPACE)}
            resp = client.request(method, path, content=body, headers=headers)
        assert_error(resp, 404, "not_found")
        for secret in (lead_id, BUDI, "6281234567890", "Budi", "acme", "wamid"):
            assert secret not in resp.text, (path, resp.text)


def test_unknown_lead_is_not_found(client: TestClient, services: Services, lead_id: str) -> None:
    unknown = str(uuid.uuid4())
    for method, path, body in bearer_requests(unknown)[1:5]:
        with appends_nothing(services):
            resp = client.request(method, path, content=body, headers={**JSON, **auth_for(path)})
        assert_error(resp, 404, "not_found")
    with appends_nothing(services):
        resp = client.get(f"/leads/by-phone/{quote('+6285712345678', safe='')}", headers=AUTH)
    assert_error(resp, 404, "not_found")


def test_unhandled_delivery_id_is_not_a_lead(client: TestClient, services: Services) -> None:
    body = json.dumps({"phone_number_id": "109876543210987", "x": 1}).encode()
    resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, "x.unknown"))
    assert resp.status_code == 200, resp.text
    [kept] = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    with appends_nothing(services):
        resp = client.post(
            f"/leads/{kept['id']}/notes",
            headers={**JSON, **HUMAN_AUTH},
            content=json.dumps({"content": "hi", "author": "ana"}).encode(),
        )
    assert_error(resp, 404, "not_found")


# -- 400 ------------------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"message": {"id": "x"',
    "not-json": b"hello",
    "trailing-comma": b'{"a": 1,}',
    "invalid-utf8": b'{"contact_phone": "\xff\xfe"}',
    "empty": b"",
    "whitespace": b"  \n ",
    "too-deep": b"[" * 100 + b"]" * 100,
}


def test_malformed_body_is_400_everywhere(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    for name, raw in MALFORMED.items():
        targets: list[tuple[str, dict[str, str]]] = [
            ("/webhook/kapso", kapso_headers(raw, KAPSO_RECEIVED)),  # validly signed
            ("/webhook/meta", meta_headers(raw)),
            ("/sarah/state", {**JSON, **SARAH_AUTH}),
            (f"/leads/{lead_id}/status", {**JSON, **HUMAN_AUTH}),
            (f"/leads/{lead_id}/status/release", {**JSON, **HUMAN_AUTH}),
            (f"/leads/{lead_id}/notes", {**JSON, **HUMAN_AUTH}),
        ]
        for path, headers in targets:
            with appends_nothing(services):
                resp = client.post(path, content=raw, headers=headers)
            assert_error(resp, 400, "malformed_json", "body", case=(name, path))


def test_non_json_constants_are_malformed(client: TestClient, services: Services) -> None:
    sarah = (
        b'{"contact_phone": "081234567890", "state": "greeting", '
        b'"extracted_data": {"budget": NaN, "reach": Infinity}}'
    )
    kapso = sample("kapso-message-received.json").replace(
        b'"metadata": {}', b'"metadata": {"score": -Infinity}'
    )
    assert b"-Infinity" in kapso
    for path, raw, headers in [
        ("/sarah/state", sarah, {**JSON, **SARAH_AUTH}),
        ("/webhook/kapso", kapso, kapso_headers(kapso, KAPSO_RECEIVED)),
    ]:
        with appends_nothing(services):
            resp = client.post(path, content=raw, headers=headers)
        assert_error(resp, 400, "malformed_json", "body", case=path)


def test_distinct_long_idempotency_keys_are_never_merged(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    prefix = "k" * 200
    accepted = 0
    before = ledger_size(services)
    for key in (prefix + "-first", prefix + "-second"):
        resp = client.post(
            f"/leads/{lead_id}/notes",
            headers={**JSON, **HUMAN_AUTH, "Idempotency-Key": key},
            content=json.dumps({"content": f"note {key[-6:]}", "author": "ana"}).encode(),
        )
        if resp.status_code == 200:
            accepted += 1
        else:
            assert_error(resp, 422, "validation_error", case=key)
    # Every accepted command was recorded; none was mistaken for a retry of the other.
    assert ledger_size(services) - before == accepted


# -- 413 ------------------------------------------------------------------------------------


def oversized() -> bytes:
    body = sample_json("kapso-message-received.json")
    body["message"]["text"]["body"] = "x" * (LIMIT + 1)
    raw = json.dumps(body).encode()
    assert len(raw) > LIMIT
    return raw


def test_body_over_the_limit_is_413(client: TestClient, services: Services, lead_id: str) -> None:
    raw = oversized()
    targets: list[tuple[str, dict[str, str]]] = [
        ("/webhook/kapso", kapso_headers(raw, KAPSO_RECEIVED)),  # validly signed, still too large
        ("/webhook/meta", meta_headers(raw)),
        ("/sarah/state", {**JSON, **SARAH_AUTH}),
        (f"/leads/{lead_id}/notes", {**JSON, **HUMAN_AUTH}),
        (f"/leads/{lead_id}/status", {**JSON, **HUMAN_AUTH}),
    ]
    for path, headers in targets:
        with appends_nothing(services):
            resp = client.post(path, content=raw, headers=headers)
        assert_error(resp, 413, "payload_too_large", "body")


def test_streamed_body_over_the_limit_is_413(client: TestClient, services: Services) -> None:
    """No Content-Length (chunked): the limit holds while reading."""
    raw = oversized()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 8192):
            yield raw[start : start + 8192]

    with appends_nothing(services):
        resp = client.post(
            "/webhook/kapso", content=chunks(), headers=kapso_headers(raw, KAPSO_RECEIVED)
        )
    assert_error(resp, 413, "payload_too_large", "body")


def test_body_at_the_limit_is_read(client: TestClient, services: Services) -> None:
    """A control: a signed body just under the limit is accepted."""
    body = sample_json("kapso-message-received.json")
    raw = json.dumps(body).encode()
    body["message"]["text"]["body"] += " " * (LIMIT - len(raw))
    raw = json.dumps(body).encode()
    assert len(raw) == LIMIT
    resp = client.post("/webhook/kapso", content=raw, headers=kapso_headers(raw, KAPSO_RECEIVED))
    assert resp.status_code == 200, resp.text
    assert ledger_size(services) == 4


# -- 422 ------------------------------------------------------------------------------------

SARAH_INVALID: list[tuple[dict[str, Any], str]] = [
    ({"contact_phone": "abc123"}, "contact_phone"),
    ({"contact_phone": ""}, "contact_phone"),
    ({"contact_phone": "0812-3456-7890 ext 12"}, "contact_phone"),
    ({"lead_score": 101}, "lead_score"),
    ({"lead_score": -1}, "lead_score"),
    ({"state": "dancing"}, "state"),
    ({"lead_temperature": "boiling"}, "lead_temperature"),
    ({"surprise": 1}, "surprise"),
    ({"contact_phone": None}, "contact_phone"),
]


def test_sarah_validation_names_the_field(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    for changes, field in SARAH_INVALID:
        with appends_nothing(services):
            resp = client.post(
                "/sarah/state", content=sarah_body(**changes), headers={**JSON, **SARAH_AUTH}
            )
        assert_error(resp, 422, "validation_error", field, case=changes)


COMMAND_INVALID: list[tuple[str, Any, str]] = [
    ("status", {"status": "bogus", "source": "human", "actor": "ana"}, "status"),
    ("status", {"status": "qualified", "source": "robot", "actor": "ana"}, "source"),
    ("status", {"status": "qualified", "actor": ""}, "actor"),
    ("notes", {"content": "", "author": "ana"}, "content"),
    ("status/release", {"on_behalf_of": ""}, "on_behalf_of"),
    ("notes", [1, 2], "body"),
]


def test_command_validation_names_the_field(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    for path, body, field in COMMAND_INVALID:
        with appends_nothing(services):
            resp = client.post(
                f"/leads/{lead_id}/{path}",
                content=json.dumps(body).encode(),
                headers={**JSON, **HUMAN_AUTH},
            )
        assert_error(resp, 422, "validation_error", field, case=(path, body))


def test_malformed_lead_id_and_phone_name_the_field(
    client: TestClient,
    services: Services,
    lead_id: str,
) -> None:
    with appends_nothing(services):
        resp = client.post(
            "/leads/not-a-uuid/notes",
            headers={**JSON, **HUMAN_AUTH},
            content=json.dumps({"content": "hi", "author": "ana"}).encode(),
        )
        assert_error(resp, 422, "validation_error", "lead_id")
        resp = client.get("/leads/by-phone/abc123", headers=AUTH)
        assert_error(resp, 422, "validation_error", "phone")


def kapso_invalid_cases() -> list[tuple[str, Any, str | None, bool, str]]:
    single = sample_json("kapso-message-received.json")
    no_id = json.loads(json.dumps(single))
    del no_id["message"]["id"]
    empty_id = json.loads(json.dumps(single))
    empty_id["message"]["id"] = ""
    junk_from = json.loads(json.dumps(single))
    junk_from["message"]["from"] = "abc123"
    no_phone = json.loads(json.dumps(single))
    del no_phone["message"]["from"]
    no_phone["conversation"]["phone_number"] = None
    no_message = {k: v for k, v in single.items() if k != "message"}
    batch = sample_json("kapso-message-received-batch.json")
    del batch["data"][1]["message"]["id"]  # the first element is fine: still nothing appended
    ended = sample_json("kapso-conversation-ended.json")
    ended["conversation"]["phone_number"] = "abc123"
    return [
        ("message-without-id", no_id, KAPSO_RECEIVED, False, "message.id"),
        ("empty-message-id", empty_id, KAPSO_RECEIVED, False, "message.id"),
        ("junk-from", junk_from, KAPSO_RECEIVED, False, "message.from"),
        ("no-phone", no_phone, KAPSO_RECEIVED, False, "conversation.phone_number"),
        ("no-message", no_message, KAPSO_RECEIVED, False, "message"),
        ("batch-element-without-id", batch, None, True, "data.1.message.id"),
        ("batch-without-data", {"type": KAPSO_RECEIVED, "batch": True}, None, True, "data"),
        (
            "ended-junk-phone",
            ended,
            "whatsapp.conversation.ended",
            False,
            "conversation.phone_number",
        ),
        ("array-body", [single], KAPSO_RECEIVED, False, "body"),
    ]


def test_kapso_bad_parts_are_kept_raw_naming_the_field(
    client: TestClient, services: Services
) -> None:
    """Never a 422 for a signed delivery: each bad part is kept raw with its reason, the
    good ones beside it are recorded, and a retry adds nothing."""
    for case, body, event, batch, field in kapso_invalid_cases():
        raw = json.dumps(body).encode()
        headers = kapso_headers(raw, event, batch=batch)
        resp = client.post("/webhook/kapso", content=raw, headers=headers)
        assert resp.status_code == 200, (case, resp.text)
        kept = [p for p in resp.json()["parts"] if p["outcome"] == "kept_unhandled"]
        assert [p["reason"].startswith(field) for p in kept] == [True], (case, kept)
        if case == "batch-element-without-id":  # the first element is fine: recorded
            assert [p["outcome"] for p in resp.json()["parts"]] == ["recorded", "kept_unhandled"]
        with appends_nothing(services):
            again = client.post("/webhook/kapso", content=raw, headers=headers)
        assert again.json() == resp.json(), case
    listed = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert len(listed) == len(kapso_invalid_cases())


def test_meta_bad_message_is_kept_raw_beside_the_good_parts(
    client: TestClient, services: Services
) -> None:
    body = sample_json("meta-text-message.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "abc123"
    raw = json.dumps(body).encode()
    resp = client.post("/webhook/meta", content=raw, headers=meta_headers(raw))
    assert resp.status_code == 200, resp.text
    contact, message = resp.json()["parts"]
    assert (contact["kind"], contact["outcome"]) == ("contact", "recorded")
    assert message["outcome"] == "kept_unhandled"
    assert message["reason"].startswith("entry.0.changes.0.value.messages.0.from:")
    with appends_nothing(services):
        assert client.post("/webhook/meta", content=raw, headers=meta_headers(raw)).json() == (
            resp.json()
        )


def test_unrouted_phone_number_id_is_422_when_several_workspaces_signed_it(
    database_url: str, tmp_path: Path
) -> None:
    """A secret every workspace holds (the env's) signs for all of them: an unknown number
    cannot be routed."""
    shared = "kapso-secret-of-every-workspace"
    settings = settings_for(database_url, tmp_path)
    built = bootstrap(settings.model_copy(update={"kapso_webhook_secret": SecretStr(shared)}))
    body = sample_json("kapso-message-received.json")
    body["phone_number_id"] = body["conversation"]["phone_number_id"] = "999"
    raw = json.dumps(body).encode()
    try:
        with TestClient(create_app(built.service)) as client, appends_nothing(built):
            resp = client.post(
                "/webhook/kapso",
                content=raw,
                headers=kapso_headers(raw, KAPSO_RECEIVED, secret=shared),
            )
    finally:
        built.close()
    assert_error(resp, 422, "unknown_phone_number_id", "phone_number_id")


def test_unrouted_phone_number_id_goes_to_the_one_workspace_that_signed_it(
    client: TestClient, services: Services
) -> None:
    body = sample_json("kapso-message-received.json")
    body["phone_number_id"] = body["conversation"]["phone_number_id"] = "999"
    raw = json.dumps(body).encode()
    headers = kapso_headers(raw, KAPSO_RECEIVED, secret=OTHER_KAPSO_SECRET)

    resp = client.post("/webhook/kapso", content=raw, headers=headers)

    assert resp.status_code == 200, resp.text
    lead_id = resp.json()["facts"][0]["lead_id"]
    assert lead_id == str(lead_id_for(OTHER_WORKSPACE, BUDI))
    services.views.catch_up()
    assert client.get(f"/leads/{lead_id}", headers=OTHER_AUTH).status_code == 200


# -- the Meta handshake ---------------------------------------------------------------------


def test_meta_handshake(client: TestClient, services: Services) -> None:
    challenge = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    with appends_nothing(services):
        resp = client.get(
            "/webhook/meta", params={**challenge, "hub.verify_token": META_VERIFY_TOKEN}
        )
        assert resp.status_code == 200
        assert resp.text == "1158201444"
        assert resp.headers["content-type"].startswith("text/plain")
        for token in [
            "wrong",
            "",
            META_VERIFY_TOKEN + "x",
            META_VERIFY_TOKEN.upper(),
            KAPSO_SECRET,
            None,
        ]:
            params = challenge if token is None else {**challenge, "hub.verify_token": token}
            resp = client.get("/webhook/meta", params=params)
            error = assert_error(resp, 403, "forbidden", "hub.verify_token", case=token)
            assert "1158201444" not in resp.text
            assert META_VERIFY_TOKEN not in error["message"]
        resp = client.get(
            "/webhook/meta",
            params={**challenge, "hub.mode": "unsubscribe", "hub.verify_token": META_VERIFY_TOKEN},
        )
        assert_error(resp, 400, "bad_request", "hub.mode")
