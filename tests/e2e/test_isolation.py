"""Workspace isolation, for every route of the app, found from its router.

Workspace B (the `other` key) owns a lead with a name, notes, a status change, messages and
a kept-raw delivery. With workspace A's key, every bearer route is called aimed at B: B's
lead id, B's phone in every spelling, B's words in every free-text query parameter. Lead
routes answer 404 and append nothing; list routes answer A's own data only; no answer
carries anything of B's. Routes are enumerated from `app.routes`, so a new route is covered
(or fails this test) without anyone remembering to add it here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from adapters.webhooks.payloads import meta_body, meta_headers
from api.http.endpoint import Endpoint, Param
from api.http.routes import ENDPOINTS
from domain.identity import lead_id_for
from service_layer.bootstrap import Services
from tests.support import (
    AUTH,
    OTHER_AUTH,
    OTHER_KAPSO_SECRET,
    OTHER_META_SECRET,
    OTHER_PHONE_NUMBER_ID,
    OTHER_WORKSPACE,
    auth,
    kapso_inbound,
    ledger_size,
    phone_spellings,
    post_kapso,
)

B = OTHER_WORKSPACE
B_PNID = OTHER_PHONE_NUMBER_ID
B_PHONE = "+6281377770042"
B_USER_ID = "ID.1377770042000042"  # B's customer by business-scoped user id only
B_NAME = "Zainab زينب"
B_NOTE = "B-note: owes 7731 rupiah"
B_ACTOR = "dewi-of-b"  # B's console acts for her: recorded as "dewi-of-b via crm-console"
B_CONSOLE = auth("console", OTHER_WORKSPACE)
B_REASON = "B-reason-5150"
B_RAW = "B-raw-delivery-9090"
A_PHONE = "+6281377770001"
B_HOOK = "https://93.184.216.34/b-hook-7717"  # B's subscription: from now on, so never called
# Served by the app but not declared in ENDPOINTS: the OpenAPI document itself (public).
UNDECLARED_PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/")}
# The dashboard's own app: its session (not a bearer key) names the workspace; its
# isolation is tests/integration/test_dashboard_pages.py's.
DASHBOARD_MOUNT = "/ui"
# A valid body per command model: a route taking a new model must be given one here.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "SarahState": {
        "contact_phone": B_PHONE,
        "state": "close_attempt",
        "lead_score": 99,
        "extracted_data": {"name": "Mallory"},
    },
    "StatusCommand": {"status": "archived"},
    "ReleaseCommand": {},
    "NoteCommand": {"content": "mallory was here"},
    "ErasureCommand": {"reason": "erase B"},
    "KeyCreate": {"role": "reader", "name": "mallory"},
    "KeyRotate": {"grace_seconds": 0},
    # A public address literal: accepted without DNS; A's subscription is made last, so
    # nothing is ever delivered to it.
    "SubscriptionIn": {"url": "https://93.184.216.34/a-hook"},
    "ReplayIn": {"after": "0"},
    "ImportRequest": {
        "contacts": json.dumps(
            {"_id": "m1", "phone": B_PHONE, "lead_status": "client", "kapso_name": "Mallory"}
        )
    },
}


@dataclass(frozen=True)
class Victim:
    lead_id: str
    secrets: tuple[str, ...]  # what must never reach workspace A
    key_id: str = ""  # a database API key of B
    subscription_id: str = ""  # B's outbound webhook subscription


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    body: dict[str, Any] | None
    sent: str  # the B value this request carries (A may see its own input echoed)


def seed(client: TestClient) -> Victim:
    """B's lead, with everything a route could show; and a lead of A's own."""
    message = kapso_inbound("wamid.B.1", B_PHONE[1:], B_PHONE, name=B_NAME, new_conversation=True)
    message["phone_number_id"] = message["conversation"]["phone_number_id"] = B_PNID
    ok(post_kapso(client, message, "whatsapp.message.received", secret=OTHER_KAPSO_SECRET))
    by_user_id = meta_body(
        {
            "field": "messages",
            "value": {
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": B_PNID},
                "messages": [
                    {
                        "from": "",
                        "from_user_id": B_USER_ID,
                        "id": "wamid.B.user",
                        "timestamp": "1764000000",
                        "type": "text",
                        "text": {"body": B_NOTE},
                    }
                ],
            },
        }
    )
    raw = json.dumps(by_user_id).encode()
    ok(client.post("/webhook/meta", content=raw, headers=meta_headers(OTHER_META_SECRET, raw)))
    unknown = {"phone_number_id": B_PNID, "marker": B_RAW}
    ok(post_kapso(client, unknown, "x.unknown.event", secret=OTHER_KAPSO_SECRET))
    lead_id = ok(
        client.post(
            "/sarah/state",
            headers=auth("sarah", B),
            json={
                "contact_phone": B_PHONE,
                "state": "listening",
                "lead_score": 77,
                "extracted_data": {"name": B_NAME, "domisili": "Bandung"},
            },
        )
    )["lead_id"]
    assert lead_id == str(lead_id_for(B, B_PHONE))
    ok(
        client.post(
            f"/leads/{lead_id}/status",
            headers=B_CONSOLE,
            json={"status": "qualified", "on_behalf_of": B_ACTOR, "reason": B_REASON},
        )
    )
    ok(
        client.post(
            f"/leads/{lead_id}/notes",
            headers=B_CONSOLE,
            json={"content": B_NOTE, "on_behalf_of": B_ACTOR},
        )
    )
    ok(
        client.post(
            "/sarah/state",
            headers=auth("sarah"),
            json={"contact_phone": A_PHONE, "state": "greeting", "extracted_data": {"name": "Ani"}},
        )
    )
    # B sees all of it (so its absence from A's answers means something).
    assert client.get(f"/leads/by-user-id/{B_USER_ID}", headers=OTHER_AUTH).status_code == 200
    b_view = client.get("/deliveries/unhandled", headers=OTHER_AUTH).text
    assert B_RAW in b_view
    b_view = client.get(f"/leads/{lead_id}/events", headers=OTHER_AUTH).text
    assert all(s in b_view for s in (B_NAME, B_NOTE, B_ACTOR, B_REASON, "wamid.B.1"))
    b_view = client.get("/changes", headers=OTHER_AUTH).text
    assert all(s in b_view for s in (B_NAME, B_NOTE, "wamid.B.1"))
    hook = ok(client.post("/subscriptions", headers=OTHER_AUTH, json={"url": B_HOOK}))
    secrets = (
        lead_id,
        B_PHONE,
        B_PHONE[1:],
        B_NAME,
        B_NOTE,
        B_ACTOR,
        B_REASON,
        B_RAW,
        "wamid.B.1",
        f'"workspace":"{B}"',
        B_HOOK,
        hook["secret"],
    )
    b_key = ok(
        client.post("/keys", json={"role": "reader", "name": "b-screen"}, headers=OTHER_AUTH)
    )
    key_id = b_key["info"]["id"]
    return Victim(lead_id, (*secrets, key_id, "b-screen"), key_id, hook["id"])


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def app_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, from its router."""
    app = client.app
    assert isinstance(app, Starlette)
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Mount) and route.path == DASHBOARD_MOUNT:
            continue
        assert isinstance(route, Route), f"not an HTTP route, cannot be checked: {route!r}"
        assert route.methods, route.path
        found |= {(method, route.path) for method in route.methods}
    return found


def declaration(method: str, path: str) -> Endpoint | None:
    wanted = "GET" if method == "HEAD" else method
    return next((e for e in ENDPOINTS if (e.method, e.path) == (wanted, path)), None)


def probes(endpoint: Endpoint, method: str, victim: Victim) -> list[Probe]:
    """Requests with A's key aimed at B: B's ids in the path, B's words in the query."""
    paths = [(endpoint.path, "")]
    if "{lead_id}" in endpoint.path:
        paths = [(endpoint.path.replace("{lead_id}", victim.lead_id), victim.lead_id)]
    elif "{phone}" in endpoint.path:
        paths = [
            (endpoint.path.replace("{phone}", quote(spelling, safe="")), B_PHONE)
            for spelling in phone_spellings(B_PHONE)
        ]
    elif "{key_id}" in endpoint.path:
        paths = [(endpoint.path.replace("{key_id}", victim.key_id), victim.key_id)]
    elif "{subscription_id}" in endpoint.path:
        paths = [(endpoint.path.replace("{subscription_id}", victim.subscription_id), "")]
    elif "{user_id}" in endpoint.path:
        paths = [(endpoint.path.replace("{user_id}", quote(B_USER_ID, safe="")), B_USER_ID)]
    assert "{" not in paths[0][0], f"no B value for the path parameter of {endpoint.path}"
    body = None
    if endpoint.request is not None:
        assert endpoint.request.__name__ in VALID_BODIES, f"no valid body for {endpoint.path}"
        body = VALID_BODIES[endpoint.request.__name__]
    found = [Probe(method, path, body, sent) for path, sent in paths]
    for param in endpoint.params:
        for value in query_values(param, victim):
            found += [
                Probe(method, f"{path}?{param.name}={quote(value, safe='')}", body, value)
                for path, _ in paths
            ]
    return found


def query_values(param: Param, victim: Victim) -> list[str]:
    """B's values for a query parameter: its words for free text, a far future for times."""
    if param.where != "query":
        return []
    text = json.dumps(param.schema)
    if '"date-time"' in text:
        return ["2100-01-01T00:00:00Z"]
    if '"enum"' in text or '"integer"' in text:
        return []
    return [victim.lead_id, B_PHONE, B_NAME, B_NOTE, B_ACTOR]


def test_a_key_of_workspace_a_reaches_nothing_of_workspace_b(
    client: TestClient,
    services: Services,
) -> None:
    victim = seed(client)
    services.views.catch_up()
    b_before = client.get(f"/leads/{victim.lead_id}", headers=OTHER_AUTH).json()
    b_events = len(ok(client.get(f"/leads/{victim.lead_id}/events", headers=OTHER_AUTH))["events"])
    served = app_routes(client)
    covered: set[tuple[str, str]] = set()
    creating: list[tuple[Endpoint, str]] = []  # routes that may create A's own data: last
    for method, path in sorted(served):
        covered.add((method, path))
        endpoint = declaration(method, path)
        if endpoint is None:
            as_get = ("GET" if method == "HEAD" else method, path)
            assert as_get in UNDECLARED_PUBLIC, f"{method} {path} is not in ENDPOINTS"
            continue
        if endpoint.auth != "bearer":
            continue  # webhooks are signed (tested elsewhere); probes and docs are public
        if endpoint.response_media == "text/event-stream":
            continue  # endless; it runs GET /changes's query (tests/e2e/test_change_stream.py)
        if method != "GET" and "{" not in path:
            creating.append((endpoint, method))
            continue
        for probe in probes(endpoint, method, victim):
            check(client, services, probe, victim, lead_route="{" in path, endpoint=endpoint)
    for endpoint, method in creating:
        for probe in probes(endpoint, method, victim):
            check(client, services, probe, victim, lead_route=False, endpoint=endpoint)
    assert covered == served
    # B's lead is exactly as it was, in the ledger and in its view.
    services.views.catch_up()
    assert client.get(f"/leads/{victim.lead_id}", headers=OTHER_AUTH).json() == b_before
    after = ok(client.get(f"/leads/{victim.lead_id}/events", headers=OTHER_AUTH))["events"]
    assert len(after) == b_events
    hook = ok(client.get(f"/subscriptions/{victim.subscription_id}", headers=OTHER_AUTH))
    assert (hook["state"], hook["url"]) == ("active", B_HOOK)
    log = ok(client.get(f"/subscriptions/{victim.subscription_id}/deliveries", headers=OTHER_AUTH))
    assert log["deliveries"] == []  # it starts after B's seeded changes: nothing to send


def check(
    client: TestClient,
    services: Services,
    probe: Probe,
    victim: Victim,
    lead_route: bool,
    endpoint: Endpoint,
) -> None:
    """A's key of a role the route admits (the admin's when it may): B's data stays B's."""
    roles = [r.value for r in endpoint.roles()]
    headers = AUTH if "admin" in roles else auth(roles[0])
    before = ledger_size(services)
    resp = client.request(probe.method, probe.url, json=probe.body, headers=headers)
    case = (probe.method, probe.url, resp.status_code, resp.text[:300])
    if lead_route:
        assert resp.status_code == 404, case
        assert ledger_size(services) == before, case
        if probe.method != "HEAD":
            assert resp.json()["error"]["code"] == "not_found", case
    else:  # A's own answer; a B value A's query cannot take (a cursor) may be refused
        assert resp.status_code in ({200} if probe.sent == "" else {200, 422}), case
        if probe.method == "GET":
            assert ledger_size(services) == before, case
    if probe.method == "HEAD":
        assert resp.content == b"", case
    for secret in victim.secrets:
        if secret != probe.sent:
            assert secret not in resp.text, (secret, *case)
