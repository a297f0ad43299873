"""The application service's boundaries: one write path (every change through the ledger's
writer and its retry policy), one way to wake the views (the ledger's listener), service
exceptions mapped to HTTP in one table, an erasure that says whether the views settled,
and Bearer challenges only where a Bearer key is what is asked for."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from starlette.testclient import TestClient

from adapters.config.settings import Settings
from adapters.webhooks.kapso import translate_kapso
from api.http.app import create_app
from api.http.errors import SERVICE_ERRORS
from domain.commands import LeadCommand
from service_layer import errors
from service_layer.bootstrap import Services, bootstrap
from service_layer.erasure import erase_lead
from service_layer.ledger import Recording
from tests.support import (
    AUTH,
    HUMAN_AUTH,
    KAPSO_RECEIVED,
    PHONE_NUMBER_ID,
    kapso_headers,
    kapso_inbound,
    meta_headers,
    post_kapso,
    sample,
)
from tests.support.elsewhere import appending_elsewhere

PHONE = "+6281355550001"


def new_lead(client: TestClient, message_id: str = "wamid.boundary.1") -> str:
    resp = post_kapso(client, kapso_inbound(message_id, PHONE[1:], PHONE), KAPSO_RECEIVED)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


def erase(client: TestClient, lead_id: str) -> Any:
    body = json.dumps({"actor": "admin", "reason": "request 7"}).encode()
    return client.request("DELETE", f"/leads/{lead_id}/personal-data", content=body, headers=AUTH)


def heard(services: Services) -> list[Recording]:
    """Every recording the ledger's listeners are told of, from now on."""
    seen: list[Recording] = []
    services.ledger.listeners.append(seen.append)
    return seen


# -- one write path -------------------------------------------------------------------------


def test_an_unhandled_delivery_is_written_by_the_ledger_once(
    client: TestClient, services: Services
) -> None:
    seen = heard(services)
    body = json.dumps({"phone_number_id": PHONE_NUMBER_ID, "x": 1}).encode()
    for _ in range(2):  # the second is a retry: same content, same id
        resp = client.post("/webhook/kapso", content=body, headers=kapso_headers(body, "x.y"))
        assert resp.status_code == 200, resp.text
        assert resp.json()["kept_unhandled"] == 1
    kept = [r for r in seen if r.facts and r.facts[0].fact.startswith("unhandled:")]
    assert [r.facts[0].appended for r in kept] == [True, False]
    assert kept[0].last_notification_id is not None
    assert kept[1].last_notification_id is None
    listed = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert [d["id"] for d in listed] == [str(kept[0].facts[0].lead_id)]


def test_an_erasure_that_conflicts_is_retried_by_the_ledger(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = new_lead(client)
    store, save = services.store, services.store.save
    conflicts = 3

    def conflicting_save(*aggregates: Any, **kwargs: Any) -> Any:
        nonlocal conflicts
        if conflicts:  # another writer got there first, three times in a row
            conflicts -= 1
            raise IntegrityError("version taken")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(store, "save", conflicting_save)
    resp = erase(client, lead_id)
    assert resp.status_code == 200, resp.text
    assert resp.json()["appended"] is True
    assert conflicts == 0
    events = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    assert [e["type"] for e in events].count("PersonalDataErased") == 1


def test_an_erasure_that_keeps_conflicting_gets_the_ledgers_busy_answer(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = new_lead(client)

    def always_conflicting(*aggregates: Any, **kwargs: Any) -> Any:
        raise IntegrityError("version taken")

    monkeypatch.setattr(services.store, "save", always_conflicting)
    monkeypatch.setattr(services.ledger, "max_attempts", 3)
    resp = erase(client, lead_id)
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "unavailable"
    assert resp.headers["Retry-After"] == "5"
    monkeypatch.undo()
    events = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    assert "PersonalDataErased" not in [e["type"] for e in events]  # nothing half-done


def test_erase_lead_writes_through_the_given_ledger(services: Services) -> None:
    """The erasure's event reaches the store through Ledger.erase (its writer), and the
    ledger's listeners hear of it like of any other write."""
    recorded = services.ledger.record("acme", commands_for("wamid.boundary.2"))
    seen = heard(services)
    erasure = erase_lead(services.ledger, "acme", recorded.facts[0].lead_id, "dpo", "r")
    assert erasure.appended
    assert [(r.facts[0].fact, r.last_notification_id) for r in seen] == [
        ("erasure", erasure.notification_id)
    ]


# -- one way to wake the views ----------------------------------------------------------------


def test_every_committed_write_wakes_the_follower(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes the inline views pass does not take (as another process's would be) wake
    the follower, each once; a write that appends nothing wakes nothing."""
    wakes: list[int] = []
    monkeypatch.setattr(services.follower, "notify", lambda: wakes.append(1))
    with appending_elsewhere(services):
        lead_id = new_lead(client)
        assert len(wakes) == 1
        new_lead(client)  # the same message again: nothing appended, nothing to wake for
        assert len(wakes) == 1
        note = json.dumps({"content": "hello", "author": "ana"}).encode()
        noted = client.post(f"/leads/{lead_id}/notes", content=note, headers=HUMAN_AUTH)
        assert noted.status_code == 200
        assert len(wakes) == 2
        assert erase(client, lead_id).status_code in (200, 202)
        assert len(wakes) == 3


def test_services_no_longer_offer_a_manual_wake() -> None:
    assert not hasattr(Services, "committed")


# -- erasure answers what happened to the views -----------------------------------------------


def test_erasure_answers_202_while_the_views_still_show_the_lead(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = new_lead(client)
    services.follower.stop()  # no follower, and the views database does not move:
    monkeypatch.setattr(services.views, "catch_up", lambda max_pages=None: 0)
    monkeypatch.setattr(services.service, "erasure_settle_seconds", 0.2)
    with appending_elsewhere(services):  # nor does this process's inline views pass
        resp = erase(client, lead_id)
    assert resp.status_code == 202, resp.text
    assert resp.json()["views_settled"] is False
    assert resp.json()["appended"] is True
    monkeypatch.undo()  # the views move again: a repeat reports them settled
    again = erase(client, lead_id)
    assert again.status_code == 200, again.text
    assert again.json()["views_settled"] is True
    assert again.json()["appended"] is False
    view = client.get(f"/leads/{lead_id}", headers=AUTH).json()
    assert PHONE not in json.dumps(view)


def test_erasure_answers_200_when_the_views_are_blanked(client: TestClient) -> None:
    resp = erase(client, new_lead(client))
    assert resp.status_code == 200, resp.text
    assert resp.json()["views_settled"] is True


# -- WWW-Authenticate -----------------------------------------------------------------------


def test_bearer_routes_challenge_with_bearer(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        resp = client.get("/leads", headers=headers)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_signed_webhooks_refuse_without_a_bearer_challenge(client: TestClient) -> None:
    kapso = sample("kapso-message-received.json")
    meta = sample("meta-text-message.json")
    refused = [
        client.post("/webhook/kapso", content=kapso, headers=kapso_headers(kapso, secret="x")),
        client.post("/webhook/kapso", content=kapso),
        client.post("/webhook/meta", content=meta, headers=meta_headers(meta, secret="x")),
        client.post("/webhook/meta", content=meta),
    ]
    for resp in refused:
        assert resp.status_code == 401, resp.text
        assert resp.json()["error"]["code"] == "unauthorized"
        assert "www-authenticate" not in resp.headers


def test_a_delivery_signed_by_another_workspace_is_refused_without_a_challenge(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "two.toml"
    config.write_text(
        f'[workspaces.acme]\napi_keys = ["k-acme"]\nkapso_webhook_secret = "acme-kapso-secret"\n'
        f'phone_number_ids = ["{PHONE_NUMBER_ID}"]\n'
        '[workspaces.globex]\napi_keys = ["k-globex"]\n'
        'kapso_webhook_secret = "globex-kapso-secret"\n',
        encoding="utf-8",
    )
    built = bootstrap(Settings(database_url=database_url, config_file=config))
    try:
        with TestClient(create_app(built.service)) as client:
            body = json.dumps(kapso_inbound("wamid.x.1", PHONE[1:], PHONE)).encode()
            headers = kapso_headers(body, KAPSO_RECEIVED, secret="globex-kapso-secret")
            resp = client.post("/webhook/kapso", content=body, headers=headers)
            assert int(built.store.recorder.max_notification_id() or 0) == 0
        assert resp.status_code == 401, resp.text
        assert resp.json()["error"]["message"] == (
            "signature does not match this number's workspace"
        )
        assert "www-authenticate" not in resp.headers
    finally:
        built.close()


def test_the_openapi_document_promises_the_challenge_only_on_bearer_routes(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "headers" in paths["/leads"]["get"]["responses"]["401"]
    assert "headers" not in paths["/webhook/kapso"]["post"]["responses"]["401"]
    assert "202" in paths["/leads/{lead_id}/personal-data"]["delete"]["responses"]


# -- service exceptions map in one place ------------------------------------------------------


def test_every_service_exception_has_an_http_answer() -> None:
    raised = [
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, Exception) and kind.__module__ == errors.__name__
    ]
    assert raised  # the module still defines them
    for kind in raised:
        mapped = [base for base in kind.__mro__ if base in SERVICE_ERRORS]
        assert mapped, f"{kind.__name__} has no HTTP answer"


def commands_for(message_id: str) -> list[LeadCommand]:
    items = translate_kapso(
        kapso_inbound(message_id, PHONE[1:], PHONE),
        KAPSO_RECEIVED,
        False,
        None,
        datetime.now(UTC),
        "ID",
    )
    return [c for item in items for c in item.commands]
