"""The dashboard in a real browser, continued: live updates through the session's change
stream (/ui/changes/stream), the policy's decisions on the page, as-of, roles and
workspaces. Each live check waits at most LIVE_MS (1 s) after the webhook's answer, and
checks the update came through the stream: the page's EventSource is open, it counted the
change, and the page was neither reloaded nor polling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.e2e.dashboard_browser import (
    BUDI,
    LIVE_MS,
    SARI,
    SEEN,
    browser,
    following_the_stream,
    inbound,
    lead_id_of,
    page,
    server,
    shot,
    sign_in,
    stream_events,
    sync_api,
)
from tests.e2e.test_server import Server
from tests.support import BRAIN_AUTH, HUMAN, OTHER_WORKSPACE, READER_AUTH, role_key

__all__ = ["browser", "page", "server"]  # the fixtures these tests use
expect = sync_api.expect
NEW = "+6281234500003"


def watched(page: Any) -> list[str]:
    """The paths of the page's requests from now on (a reload or a poll would show)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(urlsplit(request.url).path))
    page.on("framenavigated", lambda frame: seen.append(f"navigated {frame.url}"))
    return seen


def came_through_the_stream(page: Any, before: int, requests: list[str]) -> None:
    assert stream_events(page) > before, "the stream delivered no change"
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("document.documentElement.dataset.live") == "stream"
    assert not [r for r in requests if r.startswith("navigated")], requests


def test_a_webhook_appears_live_in_the_open_list_and_lead_page(
    browser: Any, server: Server
) -> None:
    budi = lead_id_of(server, BUDI)
    context = browser.new_context(base_url=server.base_url)
    try:
        listing, lead = context.new_page(), context.new_page()
        sign_in(listing)
        lead.goto(f"/ui/leads/{budi}")
        listing.evaluate("window.scrollTo(0, 200); window.notReloaded = true")
        lead.evaluate("window.notReloaded = true")
        following_the_stream(listing)
        following_the_stream(lead)
        before = {tab: (stream_events(tab), watched(tab)) for tab in (listing, lead)}
        with server.client() as client:
            inbound(client, "wamid.live1", NEW, "Andi Baru", "Baru datang")
            inbound(client, "wamid.live2", BUDI, "Budi Santoso", "Masih ada stok?")
        # Both answered: from here each page has 1 s.
        expect(listing.locator("tr", has_text="Andi Baru")).to_be_visible(timeout=LIVE_MS)
        expect(lead.locator(".timeline")).to_contain_text("Masih ada stok?", timeout=LIVE_MS)
        for tab, (count, requests) in before.items():
            came_through_the_stream(tab, count, requests)
        # The stream prompted a fetch of the changed rows: no page load, no poll timer.
        assert "/ui/leads/changed" in before[listing][1]
        assert listing.evaluate("window.scrollY") > 0  # the user's place is kept
    finally:
        context.close()


def test_a_filtered_list_stays_filtered_as_leads_arrive(page: Any, server: Server) -> None:
    sign_in(page)
    page.get_by_label("Search").fill("rahma")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/ui/leads")
    page.evaluate("window.notReloaded = true")
    following_the_stream(page)
    count, requests = stream_events(page), watched(page)
    with server.client() as client:
        inbound(client, "wamid.f-joko", "+6281234500011", "Joko Susilo", "Halo")
        inbound(client, "wamid.f-rahma", "+6281234500012", "Rahma Sari", "Halo juga")
    rows = page.locator("table.leads tbody tr")
    expect(rows.filter(has_text="Rahma Sari")).to_be_visible(timeout=LIVE_MS)
    came_through_the_stream(page, count, requests)
    assert rows.locator("td:first-child").all_inner_texts() == ["Rahma Sari"]  # no Joko
    assert page.get_by_label("Search").input_value() == "rahma"


def test_a_lead_leaving_the_filters_leaves_the_open_list(page: Any, server: Server) -> None:
    with server.client() as client:
        inbound(client, "wamid.f-wulan", "+6281234500013", "Wulan Lestari", "Halo")
    wulan = lead_id_of(server, "+6281234500013")
    sign_in(page)
    page.get_by_label("Status", exact=True).select_option("new")
    page.get_by_label("Search").fill("wulan")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/ui/leads")
    rows = page.locator("table.leads tbody tr")
    expect(rows.filter(has_text="Wulan Lestari")).to_be_visible(timeout=SEEN)
    page.evaluate("window.notReloaded = true")
    following_the_stream(page)
    count, requests = stream_events(page), watched(page)
    with httpx.Client(base_url=server.base_url) as client:
        said = client.post(
            f"/leads/{wulan}/status",
            json={"status": "contacted"},
            headers={"Authorization": f"Bearer {role_key('human')}"},
        )
    assert said.status_code == 200, said.text
    expect(rows.filter(has_text="Wulan Lestari")).to_have_count(0, timeout=LIVE_MS)
    came_through_the_stream(page, count, requests)


def test_a_status_from_the_page_is_recorded_as_the_person_and_suppressions_show(
    page: Any, server: Server
) -> None:
    sari = lead_id_of(server, SARI)
    sign_in(page, "human")
    page.goto(f"/ui/leads/{sari}")
    page.evaluate("window.notReloaded = true")
    following_the_stream(page)
    count, requests = stream_events(page), watched(page)
    page.get_by_label("New status").select_option("qualified")
    page.get_by_label("Reason").fill("wants a quote")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator("#action-result")).to_contain_text("applied", timeout=SEEN)
    expect(page.locator("[data-status]")).to_have_text("qualified", timeout=LIVE_MS)
    assert page.locator("[data-status-by]").inner_text() == HUMAN
    came_through_the_stream(page, count, requests)
    assert not [r for r in requests if r.endswith("/ui/leads/" + sari)]  # no reload
    # A bot's later request meets the person's hold: suppressed, shown with the reason.
    count = stream_events(page)
    with httpx.Client(base_url=server.base_url) as client:
        said = client.post(f"/leads/{sari}/status", json={"status": "archived"}, headers=BRAIN_AUTH)
    assert said.status_code in (200, 201), said.text
    decisions = page.locator('.timeline [data-detail="decision"]')
    expect(decisions.last).to_have_text("suppressed", timeout=LIVE_MS)
    expect(page.locator('.timeline [data-detail="why"]').last).to_have_text("held_by_human")
    expect(page.locator("[data-status]")).to_have_text("qualified")
    came_through_the_stream(page, count, requests)
    shot(page, "lead-decisions")
    with httpx.Client(base_url=server.base_url) as client:
        history = client.get(f"/leads/{sari}/status-history", headers=READER_AUTH).json()
    mine = [h for h in history["history"] if h["to"] == "qualified"]
    assert [(h["source"], h["actor"]) for h in mine] == [("human", HUMAN)]
    # The signed-in principal: the human key's name and role, as if it had called the API.
    assert (mine[0]["principal"]["name"], mine[0]["principal"]["role"]) == (HUMAN, "human")
    assert mine[0]["principal"]["key_id"]


def test_as_of_shows_an_older_state(page: Any, server: Server) -> None:
    lead_id = lead_id_of(server, BUDI)
    sign_in(page)
    page.goto(f"/ui/leads/{lead_id}")
    before = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    with httpx.Client(base_url=server.base_url) as client:
        note = {"content": "called back, no answer"}
        said = client.post(f"/leads/{lead_id}/notes", json=note, headers=BRAIN_AUTH)
    assert said.status_code in (200, 201), said.text
    expect(page.locator(".timeline")).to_contain_text("called back", timeout=SEEN)
    page.get_by_label("Show the lead as of").fill(before)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**as_of=*")
    expect(page.locator(".tag", has_text="As of")).to_be_visible()
    assert "called back" not in page.locator(".timeline").inner_text()
    assert page.locator("[data-live-lead]").count() == 0  # a past state does not follow
    shot(page, "lead-as-of")


def test_a_reader_has_no_actions_and_a_forged_post_is_refused(page: Any, server: Server) -> None:
    lead_id = lead_id_of(server, BUDI)
    sign_in(page, "reader")
    page.goto(f"/ui/leads/{lead_id}")
    assert page.get_by_role("button", name="Set status").count() == 0
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        f"/ui/leads/{lead_id}/status", form={"csrf": csrf, "status": "archived"}
    )
    assert answer.status == 403
    assert "lacks permission" in answer.text()


def test_a_role_that_cannot_read_cannot_sign_in(page: Any) -> None:
    page.goto("/ui/signin")
    page.get_by_label("Workspace API key").fill(role_key("brain"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("cannot read leads")
    assert page.url.endswith("/ui/signin")


def test_another_workspaces_lead_is_not_reachable_by_url(page: Any, server: Server) -> None:
    lead_id = lead_id_of(server, BUDI)
    sign_in(page, "human", OTHER_WORKSPACE)
    for path in (f"/ui/leads/{lead_id}", f"/ui/leads/{lead_id}/events"):
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == 404
        assert "Budi" not in page.content()
    refused = page.request.get(f"/ui/leads/{lead_id}/live", headers={"X-Requested-With": "fetch"})
    assert refused.status == 404


def test_the_stream_needs_a_session(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        answer = client.get("/ui/changes/stream", headers={"Accept": "text/event-stream"})
    assert answer.status_code == 401


def test_signing_out_ends_the_sessions_open_stream(server: Server) -> None:
    timeout = httpx.Timeout(15.0, read=10.0)  # a stream still open after the change: fails
    with httpx.Client(base_url=server.base_url, timeout=timeout) as client:
        token = csrf_of(client.get("/ui/signin").text)
        signed = client.post("/ui/signin", data={"csrf": token, "api_key": role_key("human")})
        assert signed.status_code == 303
        token = csrf_of(client.get("/ui/leads").text)
        with client.stream("GET", "/ui/changes/stream") as stream:
            assert stream.status_code == 200
            assert client.post("/ui/signout", data={"csrf": token}).status_code == 303
            with server.client() as other:
                inbound(other, "wamid.after-signout", "+6281234500009", "Lina", "Halo")
            sent = [line for line in stream.iter_lines() if line.startswith("data:")]
    assert sent == []  # the stream ended at the change, sending nothing of it


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)
