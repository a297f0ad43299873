"""Every route, by every role, from this workspace and another (docs/security.md).

The routes are walked from the app itself, so a new route fails here until it is declared
(its permission, api/http/routes/) and given a sample request below. For each bearer
route: a key whose role has the route's permission gets 2xx; any other role 403, naming
its role and the permission; another workspace's key on this workspace's lead 404; no key,
an unknown key and a revoked key 401 — and no refusal changes the ledger. The whole matrix
runs in memory; a slice of it on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from api.http.app import create_app
from api.http.endpoint import Endpoint
from api.http.routes import ENDPOINTS
from domain.commands import RecordInboundMessage
from domain.envelope import Said
from domain.principal import ROLE_PERMISSIONS, Role
from service_layer.bootstrap import Services
from tests.conftest import services_at
from tests.support import OTHER_WORKSPACE, WORKSPACE, auth, ledger_count

BSUID = "US.13491208655302741918"
PHONE = "+6281234567890"
LEAD_ROUTES_SLICE = {  # the slice run on SQLite and PostgreSQL too
    ("POST", "/leads/{lead_id}/status"),
    ("POST", "/leads/{lead_id}/notes"),
    ("GET", "/leads/{lead_id}"),
    ("DELETE", "/leads/{lead_id}/personal-data"),
    ("POST", "/keys/{key_id}/revoke"),
}


@dataclass(frozen=True)
class Lead:
    """What a sample request addresses: a lead, and a database key of the same workspace."""

    id: str
    phone: str
    key_id: str
    subscription_id: str = ""  # an outbound webhook subscription of the same workspace


# (method, path) -> (url, body) for a request that succeeds for an allowed role. `role`
# decides only whether the body names a person (a console key must, others must not).
Sample = Callable[[Lead, Role], tuple[str, dict[str, Any] | None]]


def _person(role: Role, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "on_behalf_of": "dewi"} if role is Role.CONSOLE else body


# A receiver for one lead that does not exist: accepted (a public address literal, no DNS)
# and never called.
HOOK = {"url": "https://93.184.216.34/matrix", "lead_id": "00000000-0000-0000-0000-000000000000"}
# Endless: its allowed roles are not called here (tests/e2e/test_change_stream.py streams it);
# its refusals answer at once like any route's.
ENDLESS = {("GET", "/changes/stream")}
CONTACT_ROW = json.dumps({"_id": "legacy-1", "phone": "+6281299990001", "lead_status": "hot"})
SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/leads"): lambda lead, role: ("/leads", None),
    ("GET", "/leads/{lead_id}"): lambda lead, role: (f"/leads/{lead.id}", None),
    ("GET", "/leads/{lead_id}/events"): lambda lead, role: (f"/leads/{lead.id}/events", None),
    ("GET", "/leads/{lead_id}/status-history"): lambda lead, role: (
        f"/leads/{lead.id}/status-history",
        None,
    ),
    ("GET", "/leads/{lead_id}/notes"): lambda lead, role: (f"/leads/{lead.id}/notes", None),
    ("GET", "/leads/{lead_id}/messages"): lambda lead, role: (f"/leads/{lead.id}/messages", None),
    ("GET", "/leads/by-phone/{phone}"): lambda lead, role: (f"/leads/by-phone/{lead.phone}", None),
    ("GET", "/leads/by-user-id/{user_id}"): lambda lead, role: (f"/leads/by-user-id/{BSUID}", None),
    ("GET", "/deliveries/unhandled"): lambda lead, role: ("/deliveries/unhandled", None),
    ("GET", "/stats"): lambda lead, role: ("/stats", None),
    ("GET", "/audit"): lambda lead, role: ("/audit", None),
    ("POST", "/sarah/state"): lambda lead, role: (
        "/sarah/state",
        {"contact_phone": lead.phone, "state": "listening"},
    ),
    ("POST", "/leads/{lead_id}/status"): lambda lead, role: (
        f"/leads/{lead.id}/status",
        _person(role, {"status": "qualified"}),
    ),
    ("POST", "/leads/{lead_id}/status/release"): lambda lead, role: (
        f"/leads/{lead.id}/status/release",
        _person(role, {}),
    ),
    ("POST", "/leads/{lead_id}/notes"): lambda lead, role: (
        f"/leads/{lead.id}/notes",
        _person(role, {"content": "called, wants a demo"}),
    ),
    ("POST", "/imports"): lambda lead, role: ("/imports", {"contacts": CONTACT_ROW + "\n"}),
    ("DELETE", "/leads/{lead_id}/personal-data"): lambda lead, role: (
        f"/leads/{lead.id}/personal-data",
        {"reason": "request #42"},
    ),
    ("GET", "/changes"): lambda lead, role: ("/changes", None),
    ("GET", "/changes/stream"): lambda lead, role: ("/changes/stream", None),
    ("GET", "/subscriptions"): lambda lead, role: ("/subscriptions", None),
    ("POST", "/subscriptions"): lambda lead, role: ("/subscriptions", HOOK),
    ("GET", "/subscriptions/{subscription_id}"): lambda lead, role: (
        f"/subscriptions/{lead.subscription_id}",
        None,
    ),
    ("GET", "/subscriptions/{subscription_id}/deliveries"): lambda lead, role: (
        f"/subscriptions/{lead.subscription_id}/deliveries",
        None,
    ),
    ("POST", "/subscriptions/{subscription_id}/replay"): lambda lead, role: (
        f"/subscriptions/{lead.subscription_id}/replay",
        {"after": "999999999"},
    ),
    ("DELETE", "/subscriptions/{subscription_id}"): lambda lead, role: (
        f"/subscriptions/{lead.subscription_id}",
        None,
    ),
    ("GET", "/keys"): lambda lead, role: ("/keys", None),
    ("POST", "/keys"): lambda lead, role: ("/keys", {"role": "reader", "name": "wall-screen"}),
    ("POST", "/keys/{key_id}/revoke"): lambda lead, role: (f"/keys/{lead.key_id}/revoke", {}),
    ("POST", "/keys/{key_id}/rotate"): lambda lead, role: (
        f"/keys/{lead.key_id}/rotate",
        {"grace_seconds": 60},
    ),
}
# Routes addressed to one lead (or person, or key): another workspace's key gets 404.
ONE_LEAD = {key for key in SAMPLES if "{" in key[1]}


BEARER = {(e.method, e.path): e for e in ENDPOINTS if e.auth == "bearer"}
# The contract itself, its Swagger UI and / (a redirect to the dashboard): served to anyone.
# The dashboard under /ui (a Mount, not listed here) checks the signed-in principal's
# permissions itself: tests/integration/test_dashboard_pages.py.
PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/")}


def served(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, read from the app's own routing table."""
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }


@pytest.fixture
def memory_services(tmp_path: Path) -> Iterator[Services]:
    with services_at("memory", tmp_path) as built:
        yield built


def test_every_route_the_app_serves_is_declared_and_in_the_matrix(
    memory_services: Services,
) -> None:
    app = create_app(memory_services.service)
    declared = {(e.method, e.path) for e in ENDPOINTS}
    assert served(app) == declared | PUBLIC
    # A bearer route without a sample request here would escape the matrix.
    assert set(BEARER) == set(SAMPLES)
    # Webhooks and probes take no API key (signatures, or nothing).
    for endpoint in ENDPOINTS:
        assert (endpoint.permission is None) == (endpoint.auth != "bearer")


def _lead(services: Services, client: TestClient, workspace: str, phone: str) -> Lead:
    """A lead of `workspace` (through Sarah), and a BSUID lead for by-user-id."""
    sarah = client.post(
        "/sarah/state",
        json={"contact_phone": phone, "state": "greeting"},
        headers=auth("sarah", workspace),
    )
    assert sarah.status_code == 200, sarah.text
    said = Said("meta", "meta", datetime.now(UTC))
    bsuid_message = RecordInboundMessage(
        f"wa_user:{BSUID}", said, message_id=f"wamid.{workspace}.{phone}", text="hi"
    )
    services.ledger.record(workspace, [bsuid_message])
    key = services.service.create_api_key(workspace, "reader", f"screen {phone}")
    hook = services.service.subscriptions.create(workspace, HOOK["url"], (), HOOK["lead_id"], None)
    return Lead(sarah.json()["lead_id"], phone, key.key.id, hook.subscription.id)


def _call(
    client: TestClient, endpoint: Endpoint, url: str, body: Any, headers: dict[str, str]
) -> Any:
    return client.request(endpoint.method, url, json=body, headers=headers)


def check_route(services: Services, client: TestClient, key: tuple[str, str]) -> None:
    endpoint = BEARER[key]
    for n, role in enumerate(Role):
        # A fresh lead per role: an erasure or a hold by one role must not decide another's.
        lead = _lead(services, client, WORKSPACE, f"+62812000{len(key[1]):02d}{n:03d}")
        url, body = SAMPLES[key](lead, role)
        before = stored(services)
        if endpoint.permission in ROLE_PERMISSIONS[role]:
            if key not in ENDLESS:
                resp = _call(client, endpoint, url, body, auth(role.value))
                assert 200 <= resp.status_code < 300, (key, role, resp.text)
            continue
        resp = _call(client, endpoint, url, body, auth(role.value))
        assert resp.status_code == 403, (key, role, resp.text)
        error = resp.json()["error"]
        assert (error["role"], error["permission"]) == (role.value, endpoint.permission)
        assert stored(services) == before, (key, role)

    lead = _lead(services, client, WORKSPACE, "+6281300000001")
    allowed = endpoint.roles()[0]
    url, body = SAMPLES[key](lead, allowed)
    revoked = services.service.create_api_key(WORKSPACE, allowed.value, "gone")
    services.service.revoke_api_key(revoked.key.id)
    before = stored(services)
    if key in ONE_LEAD:  # another workspace's key, allowed there, on this lead: not found
        resp = _call(client, endpoint, url, body, auth(allowed.value, OTHER_WORKSPACE))
        assert resp.status_code == 404, (key, resp.text)
    for headers in (
        {},
        {"Authorization": "Bearer llk_not-a-key"},
        {"Authorization": f"Bearer {revoked.secret}"},
        {"Authorization": "Basic " + revoked.secret},
    ):
        resp = _call(client, endpoint, url, body, headers)
        assert resp.status_code == 401, (key, headers, resp.text)
        assert resp.headers["www-authenticate"] == "Bearer"
    assert stored(services) == before, key


def stored(services: Services) -> tuple[int, list[Any]]:
    """The ledger's size and every API key as listed: a refusal changes neither."""
    return ledger_count(services), services.service.api_keys()


@pytest.mark.parametrize("key", sorted(BEARER), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_by_role_and_workspace_in_memory(
    memory_services: Services, key: tuple[str, str]
) -> None:
    with TestClient(create_app(memory_services.service)) as client:
        check_route(memory_services, client, key)


@pytest.mark.parametrize("key", sorted(LEAD_ROUTES_SLICE), ids=lambda k: f"{k[0]} {k[1]}")
def test_a_slice_of_the_matrix_on_durable_stores(
    durable_backend: str, tmp_path: Path, key: tuple[str, str]
) -> None:
    with (
        services_at(durable_backend, tmp_path) as services,
        TestClient(create_app(services.service)) as client,
    ):
        check_route(services, client, key)


def test_openapi_shows_each_routes_permission_and_roles(memory_services: Services) -> None:
    with TestClient(create_app(memory_services.service)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for (method, path), endpoint in BEARER.items():
        operation = paths[path][method.lower()]
        assert operation["x-permission"] == endpoint.permission
        assert operation["x-roles"] == [r.value for r in endpoint.roles()]
        assert f"Permission: `{endpoint.permission}`" in operation["description"]
        assert "403" in operation["responses"]
    for endpoint in ENDPOINTS:
        if endpoint.auth != "bearer":
            assert "x-permission" not in paths[endpoint.path][endpoint.method.lower()]
