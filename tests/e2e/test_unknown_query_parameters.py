"""A query parameter a read route does not know is refused: 400 `unknown_parameter`, naming
it, on every GET route of the app's route table (a typo such as `?stauts=` or `min_score`
must not silently return everything)."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from api.http.routes import ENDPOINTS
from tests.support import AUTH, META_VERIFY_TOKEN

LEAD = "6f1c2a3e-8d1b-5e47-b2c9-7a6d5e4f3c21"
PATH_VALUES = {
    "lead_id": LEAD,
    "phone": "+6281234567890",
    "user_id": "US.13491208655302741918",
    "subscription_id": "7d3f2a1e-8d1b-4e47-b2c9-7a6d5e4f3c21",
}
# What a route needs to reach its handler (the handshake's own parameters).
KNOWN = {
    "/webhook/meta": {
        "hub.mode": "subscribe",
        "hub.verify_token": META_VERIFY_TOKEN,
        "hub.challenge": "42",
    }
}


def get_paths(client: TestClient) -> list[str]:
    """Every GET of the API (the dashboard's HTML pages are for browsers, which add their
    own parameters: they are not API reads)."""
    app = client.app
    assert isinstance(app, Starlette)
    served = {r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())}
    found = [e.path for e in ENDPOINTS if e.method == "GET"] + ["/openapi.json"]
    assert {"/leads", "/changes", "/openapi.json"} <= set(found) <= served  # the real table
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_get_route_refuses_an_unknown_parameter(client: TestClient) -> None:
    for path in get_paths(client):
        params = {**KNOWN.get(path, {}), "stauts": "new"}
        resp = client.get(concrete(path), params=params, headers=AUTH)
        assert resp.status_code == 400, (path, resp.text)
        error = resp.json()["error"]
        assert (error["code"], error["field"]) == ("unknown_parameter", "stauts"), path
        assert "stauts" in error["message"]


@pytest.mark.parametrize(
    ("query", "named", "hint"),
    [("stauts=new", "stauts", "status"), ("min_score=50", "min_score", "score_min")],
)
def test_the_lead_list_names_the_unknown_parameter_and_the_likely_one(
    client: TestClient, query: str, named: str, hint: str
) -> None:
    resp = client.get(f"/leads?{query}", headers=AUTH)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["field"] == named
    assert hint in error["message"]


def test_known_parameters_are_still_accepted(client: TestClient) -> None:
    resp = client.get("/leads?status=new&score_min=10&limit=5", headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert client.get("/openapi.json").status_code == 200
