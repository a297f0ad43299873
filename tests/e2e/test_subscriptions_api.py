"""The subscriptions API in process: SSRF refusals change nothing, bad input is a clear 422,
the secret is shown once, other workspaces see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import AUTH, OTHER_AUTH


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://169.254.169.254/", "http://10.0.0.1/", "ftp://x.org/"],
)
def test_refused_receivers_are_a_422_and_store_nothing(client: TestClient, url: str) -> None:
    resp = client.post("/subscriptions", json={"url": url}, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "url"
    assert client.get("/subscriptions", headers=AUTH).json() == {"subscriptions": []}


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://93.184.216.34/hook", "types": ["lead.exploded"]},
        {"url": "https://93.184.216.34/hook", "after": "yesterday"},
        {"url": "https://93.184.216.34/hook", "surprise": 1},
        {"types": []},
    ],
)
def test_bad_subscriptions_are_a_422_and_store_nothing(
    client: TestClient, body: dict[str, Any]
) -> None:
    resp = client.post("/subscriptions", json=body, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert client.get("/subscriptions", headers=AUTH).json() == {"subscriptions": []}


def test_a_subscription_is_its_workspace_s_alone(client: TestClient) -> None:
    made = client.post(
        "/subscriptions",
        json={"url": "https://93.184.216.34/hook", "types": ["note.added"]},
        headers=AUTH,
    ).json()
    assert made["secret"].startswith("whsec_")
    assert made["state"] == "active"
    mine = client.get(f"/subscriptions/{made['id']}", headers=AUTH).json()
    assert mine["secret"] is None
    assert mine["types"] == ["note.added"]
    assert client.get(f"/subscriptions/{made['id']}", headers=OTHER_AUTH).status_code == 404
    assert client.get("/subscriptions", headers=OTHER_AUTH).json() == {"subscriptions": []}
    gone = client.delete(f"/subscriptions/{made['id']}", headers=OTHER_AUTH)
    assert gone.status_code == 404
    assert client.get("/subscriptions", headers=AUTH).json()["subscriptions"][0]["id"] == made["id"]
    assert client.get("/changes?types=nope", headers=AUTH).status_code == 422
