"""Unbounded reads are paged: a lead's ledger (`GET /leads/{id}/events`) and the kept raw
deliveries (`GET /deliveries/unhandled`, one workspace's, filtered before the page is cut).
Paging through gives every row once, in order; bad paging parameters are 422 naming them.
On every backend."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from projections import source
from service_layer.bootstrap import Services
from tests.support import (
    AUTH,
    OTHER_AUTH,
    OTHER_KAPSO_SECRET,
    OTHER_PHONE_NUMBER_ID,
    PHONE_NUMBER_ID,
    kapso_inbound,
    post_kapso,
)

UNKNOWN_EVENT = "whatsapp.widget.spun"  # no translator: kept raw
PHONE = "+6281377773001"


def pages(client: TestClient, url: str, key: str, limit: int, auth: dict[str, str]) -> list[Any]:
    """Every page of `url` with this `limit`, followed by `next_after`."""
    rows: list[Any] = []
    after: int | None = 0
    while after is not None:
        resp = client.get(url, params={"after": after, "limit": limit}, headers=auth)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page[key]) <= limit
        assert page["limit"] == limit
        rows += page[key]
        after = page["next_after"]
        assert after is None or after == rows[-1]["position"]
    return rows


def keep(client: TestClient, count: int, number: str, **signing: Any) -> None:
    """`count` kept raw deliveries for the workspace of `number`, in one signed batch."""
    batch = {"data": [{"phone_number_id": number, "widget": {"id": f"w{i}"}} for i in range(count)]}
    resp = post_kapso(client, batch, UNKNOWN_EVENT, batch=True, **signing)
    assert resp.status_code == 200, resp.text
    assert resp.json()["kept_unhandled"] == count


# -- the lead's ledger -------------------------------------------------------------------------


@pytest.fixture
def lead(client: TestClient) -> str:
    """A lead with 1 registration + 12 messages (and a contact name) in its ledger."""
    batch = {"data": [kapso_inbound(f"wamid.page.{i}", PHONE[1:], PHONE) for i in range(12)]}
    resp = post_kapso(client, batch, "whatsapp.message.received", batch=True)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


def test_the_ledger_pages_in_order_and_whole(client: TestClient, lead: str) -> None:
    url = f"/leads/{lead}/events"
    whole = client.get(url, headers=AUTH).json()
    assert whole["next_after"] is None
    assert whole["limit"] == 1000
    positions = [e["position"] for e in whole["events"]]
    assert positions == list(range(1, len(positions) + 1))
    assert len(positions) >= 13
    for limit in (1, 5, len(positions)):
        assert pages(client, url, "events", limit, AUTH) == whole["events"]
    tail = client.get(url, params={"after": positions[-3]}, headers=AUTH).json()
    assert tail["events"] == whole["events"][-2:]
    past = client.get(url, params={"after": 2**63 - 1}, headers=AUTH).json()
    assert past == {"lead_id": lead, "events": [], "next_after": None, "limit": 1000}


def test_a_page_reads_only_its_events_from_the_store(
    client: TestClient, services: Services, lead: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed, not loaded whole: the events query of the page carries its LIMIT."""
    limits: list[int | None] = []
    select = services.store.recorder.select_events

    def spy(*args: Any, **kwargs: Any) -> Any:
        limits.append(kwargs.get("limit"))
        return select(*args, **kwargs)

    monkeypatch.setattr(services.store.recorder, "select_events", spy)
    resp = client.get(f"/leads/{lead}/events", params={"after": 2, "limit": 3}, headers=AUTH)
    assert [e["position"] for e in resp.json()["events"]] == [3, 4, 5]
    assert 4 in limits  # the page and one more, to know whether another follows


def test_the_cli_history_pages_internally_and_misses_nothing(
    client: TestClient, services: Services, lead: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadledger history` reads the lead through lead_history, now a page at a time."""
    whole = client.get(f"/leads/{lead}/events", headers=AUTH).json()["events"]
    monkeypatch.setattr(source, "HISTORY_PAGE", 4)
    history = list(services.service.lead_history(UUID(lead)))
    assert [(e.position, e.type) for e in history] == [(e["position"], e["type"]) for e in whole]


@pytest.mark.parametrize(
    ("name", "value"),
    [("after", "-1"), ("after", str(2**63)), ("after", "1.5"), ("limit", "0"), ("limit", "1001")],
)
@pytest.mark.parametrize("path", ["/leads/{lead}/events", "/deliveries/unhandled"])
def test_bad_paging_parameters_are_422(
    client: TestClient, lead: str, path: str, name: str, value: str
) -> None:
    resp = client.get(path.format(lead=lead), params={name: value}, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == name


# -- kept raw deliveries -----------------------------------------------------------------------


def test_kept_deliveries_page_per_workspace(client: TestClient) -> None:
    """A's many kept deliveries, stored first, never crowd B's out of B's page."""
    keep(client, 25, PHONE_NUMBER_ID)
    keep(client, 3, OTHER_PHONE_NUMBER_ID, secret=OTHER_KAPSO_SECRET)

    mine = pages(client, "/deliveries/unhandled", "deliveries", 10, AUTH)
    assert len(mine) == 25
    assert len({d["id"] for d in mine}) == 25
    assert [d["position"] for d in mine] == sorted(d["position"] for d in mine)
    assert all('"w' in d["body"] and "widget" in d["body"] for d in mine)

    first = client.get("/deliveries/unhandled", params={"limit": 2}, headers=OTHER_AUTH).json()
    assert len(first["deliveries"]) == 2
    assert first["next_after"] == first["deliveries"][-1]["position"]
    theirs = pages(client, "/deliveries/unhandled", "deliveries", 10, OTHER_AUTH)
    assert len(theirs) == 3
    assert not {d["id"] for d in theirs} & {d["id"] for d in mine}
    assert min(d["position"] for d in theirs) > max(d["position"] for d in mine)
