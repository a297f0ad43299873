"""Dashboard pages through the app (in memory): idle timeout, bad input refused without a
change, as-of, operations, stats and /docs. The browser flows are tests/e2e/test_dashboard.py."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.webhooks.payloads import kapso_batch
from api.http.app import create_app
from api.http.dashboard.session import IDLE_SECONDS
from projections import queries
from service_layer.bootstrap import Services
from tests.support import API_KEY, HUMAN, HUMAN_AUTH, OTHER_WORKSPACE, post_kapso, role_key, sample
from tests.support.kapso_deliveries import kapso_inbound

pytestmark = pytest.mark.parametrize("backend", ["memory"])
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, key: str | None = None, name: str = "") -> TestClient:
    token = csrf_of(client.get("/ui/signin").text)
    client.post(
        "/ui/signin",
        data={"csrf": token, "api_key": key or role_key("human"), "name": name},
        follow_redirects=False,
    )
    return client


@pytest.fixture
def lead_id(client: TestClient) -> str:
    answer = post_kapso(client, sample("kapso-message-received.json"), "whatsapp.message.received")
    assert answer.status_code == 200
    return str(answer.json()["facts"][0]["lead_id"])


def test_an_idle_session_is_signed_out(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client)
    assert client.get("/ui/leads", follow_redirects=False).status_code == 200
    later = time.time() + IDLE_SECONDS + 5
    monkeypatch.setattr("api.http.dashboard.session.time.time", lambda: later)
    answer = client.get("/ui/leads", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/signin")


def test_a_failed_sign_in_logs_neither_key_nor_name(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        sign_in(client, key="secret-wrong-key", name="Tester")
    assert "refused" in caplog.text
    assert "secret-wrong-key" not in caplog.text
    assert "Tester" not in caplog.text
    assert client.get("/ui/leads", follow_redirects=False).status_code == 303


def test_a_bad_status_is_refused_and_appends_nothing(client: TestClient, lead_id: str) -> None:
    token = csrf_of(sign_in(client).get("/ui/leads").text)
    before = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    answer = client.post(
        f"/ui/leads/{lead_id}/status",
        data={"csrf": token, "status": "bogus"},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("status")
    assert client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"] == before


def test_a_note_is_recorded_as_the_signed_in_person(client: TestClient, lead_id: str) -> None:
    token = csrf_of(sign_in(client).get("/ui/leads").text)
    answer = client.post(
        f"/ui/leads/{lead_id}/notes", data={"csrf": token, "content": "call back friday"}
    )
    assert answer.status_code == 200  # the redirect back to the lead page, followed
    notes = client.get(f"/leads/{lead_id}/notes", headers=AUTH).json()["notes"]
    assert [(n["content"], n["actor"], n["source"]) for n in notes] == [
        ("call back friday", HUMAN, "human")
    ]


def test_as_of_before_the_lead_existed_is_not_found(client: TestClient, lead_id: str) -> None:
    sign_in(client)
    assert client.get(f"/ui/leads/{lead_id}?as_of=2000-01-01T00:00:00").status_code == 404
    assert client.get(f"/ui/leads/{lead_id}?as_of=yesterday").status_code == 422
    now = client.get(f"/ui/leads/{lead_id}?as_of=2100-01-01T00:00:00")
    assert now.status_code == 200
    assert "As of 2100-01-01" in now.text


def test_operations_stats_and_docs_pages(client: TestClient, lead_id: str) -> None:
    sign_in(client)
    operations = client.get("/ui/operations")
    assert "Lag" in operations.text
    assert "Unhandled deliveries (0)" in operations.text
    stats = client.get("/ui/stats")
    assert "<polyline" in stats.text
    docs = client.get("/docs")
    assert "swagger-ui-bundle.js" in docs.text
    assert client.get("/ui/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_the_lead_live_part_answers_204_until_the_lead_moves(
    client: TestClient, lead_id: str
) -> None:
    sign_in(client)
    first = client.get(f"/ui/leads/{lead_id}/live?version=0").json()
    same = client.get(f"/ui/leads/{lead_id}/live?version={first['version']}")
    assert same.status_code == 204


def test_another_workspace_sees_and_changes_nothing_of_this_one(
    client: TestClient, lead_id: str
) -> None:
    before = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    other = role_key("human", OTHER_WORKSPACE)
    token = csrf_of(sign_in(client, key=other).get("/ui/leads").text)
    assert lead_id not in client.get("/ui/leads").text
    assert client.get(f"/ui/leads/{lead_id}").status_code == 404
    assert client.get(f"/ui/leads/{lead_id}/live").status_code == 404
    for action, form in (("status", {"status": "converted"}), ("notes", {"content": "x"})):
        answer = client.post(
            f"/ui/leads/{lead_id}/{action}",
            data={"csrf": token, **form},
            headers={"X-Requested-With": "fetch"},
        )
        assert answer.status_code == 404
    assert client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"] == before


def test_the_cookie_is_secure_over_https_and_holds_no_key(services: Services) -> None:
    app = create_app(services.service)
    for base, secure in (("https://testserver", True), ("http://testserver", False)):
        browser = TestClient(app, base_url=base)  # no lifespan: the fixture closes the services
        token = csrf_of(browser.get("/ui/signin").text)
        answer = browser.post(
            "/ui/signin",
            data={"csrf": token, "api_key": role_key("human"), "name": ""},
            follow_redirects=False,
        )
        cookie = answer.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure
        assert "samesite=strict" in cookie
        assert "httponly" in cookie
        value = answer.cookies["leadledger_session"]
        assert role_key("human") not in base64.b64decode(value.split(".")[0] + "==").decode()


def test_the_newest_rows_are_the_tail_of_all_rows_in_order(
    client: TestClient, services: Services, lead_id: str
) -> None:
    phone = client.get(f"/leads/{lead_id}", headers=AUTH).json()["phone"]
    for n, status in enumerate(("contacted", "qualified", "converted")):
        message = kapso_batch("whatsapp.message.received", [kapso_inbound(f"m{n}", phone, phone)])
        assert post_kapso(client, message, "whatsapp.message.received").status_code == 200
        body = {"status": status, "reason": str(n)}
        posted = client.post(f"/leads/{lead_id}/status", json=body, headers=HUMAN_AUTH)
        assert posted.status_code == 200
        note = {"content": f"note {n}"}
        posted = client.post(f"/leads/{lead_id}/notes", json=note, headers=HUMAN_AUTH)
        assert posted.status_code == 200
    workspace, lead = "acme", UUID(lead_id)
    reads: list[Callable[..., list[Any]]] = [
        queries.status_history,
        queries.notes,
        queries.messages,
    ]
    for read in reads:
        every = services.service.read_lead(workspace, lead, partial(read))
        newest = services.service.read_lead(workspace, lead, partial(read, newest=2))
        assert len(every) >= 3
        assert newest == every[-2:], read.__name__


def test_reingest_from_the_operations_page_reports_and_needs_the_token(
    client: TestClient,
) -> None:
    human = csrf_of(sign_in(client).get("/ui/operations").text)
    assert client.post("/ui/operations/reingest", data={"csrf": human}).status_code == 403
    token = csrf_of(sign_in(client, key=API_KEY).get("/ui/operations").text)  # admin
    assert client.post("/ui/operations/reingest", data={}).status_code == 403
    done = client.post("/ui/operations/reingest", data={"csrf": token})
    assert done.status_code == 200
    assert "Re-ingested 0 delivery(ies)" in done.text


@pytest.mark.parametrize("role", ["reader", "admin"])
def test_a_key_without_the_permission_reads_but_cannot_act(
    client: TestClient, lead_id: str, role: str
) -> None:
    token = csrf_of(sign_in(client, key=role_key(role)).get("/ui/leads").text)
    assert "Set status" not in client.get(f"/ui/leads/{lead_id}").text
    before = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    refused = client.post(
        f"/ui/leads/{lead_id}/status",
        data={"csrf": token, "status": "converted"},
        headers={"X-Requested-With": "fetch"},
    )
    assert refused.status_code == 403
    assert "lacks permission 'status'" in refused.json()["error"]
    assert client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"] == before


def test_a_console_key_acts_for_the_person_named_at_sign_in(
    client: TestClient, lead_id: str
) -> None:
    form = client.get("/ui/signin").text
    refused = client.post(
        "/ui/signin", data={"csrf": csrf_of(form), "api_key": role_key("console"), "name": ""}
    )
    assert refused.status_code == 401
    assert "enter their name" in refused.text
    token = csrf_of(sign_in(client, key=role_key("console"), name="Budi").get("/ui/leads").text)
    client.post(f"/ui/leads/{lead_id}/notes", data={"csrf": token, "content": "for Budi"})
    notes = client.get(f"/leads/{lead_id}/notes", headers=AUTH).json()["notes"]
    assert notes[-1]["actor"] == "Budi via crm-console"


def test_the_list_filters_by_conversation_and_by_who_holds_the_status(
    client: TestClient, services: Services, lead_id: str
) -> None:
    """The list's conversation and status-source filters narrow it like the API's."""
    token = csrf_of(sign_in(client).get("/ui/leads").text)
    services.views.catch_up()

    def listed(**filters: str) -> bool:
        answer = client.post("/ui/leads/filter", data={"csrf": token, **filters})
        assert answer.status_code == 200  # the redirect back to the list, followed
        return f"/ui/leads/{lead_id}" in answer.text

    contact = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert contact["conversation_status"] == "open"
    assert listed(conversation_status="open")
    assert not listed(conversation_status="handover")
    answer = client.post(f"/ui/leads/{lead_id}/status", data={"csrf": token, "status": "contacted"})
    assert answer.status_code == 200
    services.views.catch_up()
    assert listed(status_source="human")
    assert not listed(status_source="sarah")
    assert not listed(conversation_status="asleep")  # refused: the filters that worked stay
    assert "conversation_status" in client.get("/ui/leads").text
