"""The dashboard in a real browser (Playwright driving Debian's /usr/bin/chromium) against
a real `leadledger serve` on SQLite: sign in and out, the list, the lead page, CSRF,
keyboard and phone width. Live updates, roles and workspaces: test_dashboard_live.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.dashboard_browser import (
    AUTH,
    BUDI,
    FILLERS,
    SARI,
    SEEN,
    browser,
    lead_id_of,
    page,
    server,
    shot,
    sign_in,
)
from tests.e2e.test_server import Server
from tests.support import HUMAN, role_key

__all__ = ["browser", "page", "server"]  # the fixtures these tests use


def test_a_wrong_key_is_refused_and_a_right_one_signs_in(page: Any) -> None:
    page.goto("/ui/signin")
    shot(page, "sign-in")
    page.get_by_label("Workspace API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    assert "not known" in page.locator("#signin-error").inner_text()
    sign_in(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "leadledger_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert role_key("human") not in json.dumps(page.context.cookies())


def test_the_list_filters_and_counts(page: Any) -> None:
    sign_in(page)
    rows = page.locator("table.leads tbody tr")
    assert {"Budi Santoso", "Sari Dewi"} <= set(rows.locator("td:first-child").all_inner_texts())
    assert "leads" in page.locator("#counts").inner_text()
    shot(page, "leads", full_page=False)
    page.get_by_label("Search").fill("sari")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/ui/leads")
    assert rows.locator("td:first-child").all_inner_texts() == ["Sari Dewi"]
    shot(page, "leads-filtered", full_page=False)
    assert "sari" not in page.url.lower()  # the search stays out of the URL
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Apply").click()
    assert rows.count() >= 2


def test_the_list_pages_by_cursor_and_back(page: Any) -> None:
    sign_in(page)
    rows = page.locator("table.leads tbody tr")
    first = rows.evaluate_all("rows => rows.map(r => r.dataset.leadId)")
    assert len(first) == 50
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**/ui/leads?cursor=*")
    second = rows.evaluate_all("rows => rows.map(r => r.dataset.leadId)")
    assert second, "the second page is empty"
    assert not set(first) & set(second)  # no lead on both pages
    assert len(first) + len(second) >= FILLERS + 2
    page.get_by_role("link", name="First page").click()
    page.wait_for_url("**/ui/leads")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.leadId)")[:10] == first[:10]


def test_the_lead_page_shows_timeline_and_provenance_and_records_a_status(
    page: Any, server: Server
) -> None:
    lead_id = lead_id_of(server, BUDI)
    sign_in(page, "human")
    page.goto(f"/ui/leads/{lead_id}")
    assert "Halo, saya mau tanya harga" in page.locator(".timeline").inner_text()
    name = page.locator('[data-field="name"]')
    assert "Budi Santoso" in name.inner_text()
    assert "ContactNameReported" in name.locator(".said").inner_text()
    shot(page, "lead")
    page.get_by_text("Raw events (").click()  # the panel loads its content when opened
    page.locator("#raw-events", has_text="InboundMessageReceived").wait_for(timeout=SEEN)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("New status").select_option("qualified")
    page.get_by_label("Reason").fill("asked for the price list")
    page.get_by_role("button", name="Set status").click()
    page.locator("[data-status]", has_text="qualified").wait_for(timeout=SEEN)
    assert page.locator("[data-status-by]").inner_text() == HUMAN
    assert "applied" in page.locator("#action-result").inner_text()
    assert "asked for the price list" in page.locator(".timeline").inner_text()
    assert page.evaluate("window.notReloaded") is True
    with server.client() as client:
        history = client.get(f"/leads/{lead_id}/status-history", headers=AUTH).json()["history"]
    last = history[-1]
    assert (last["to"], last["source"], last["actor"]) == ("qualified", "human", HUMAN)


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    page: Any, server: Server
) -> None:
    lead_id = lead_id_of(server, SARI)
    sign_in(page)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=server.base_url, cookies=cookies) as client:
        before = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
        for form in ({"status": "converted"}, {"status": "converted", "csrf": "forged"}):
            refused = client.post(f"/ui/leads/{lead_id}/status", data=form)
            assert refused.status_code == 403
        after = client.get(f"/leads/{lead_id}/events", headers=AUTH).json()["events"]
    assert after == before


def test_sign_out_ends_the_session(page: Any, server: Server) -> None:
    sign_in(page)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/signin")
    page.goto("/ui/leads")
    assert page.url.endswith("/ui/signin")
    with httpx.Client(base_url=server.base_url, cookies=cookies) as client:
        replayed = client.get("/ui/leads")  # a copy of the old cookie no longer works either
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/ui/signin"


@pytest.mark.parametrize("where", ["list", "lead"])
def test_phone_width_has_no_horizontal_scroll(browser: Any, server: Server, where: str) -> None:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 375, "height": 740})
    tab = context.new_page()
    try:
        sign_in(tab)
        if where == "lead":
            tab.goto(f"/ui/leads/{lead_id_of(server, BUDI)}")
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        shot(tab, f"phone-{where}", full_page=False)
    finally:
        context.close()


def test_signing_in_by_keyboard_alone(page: Any) -> None:
    page.goto("/ui/signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "brand"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "api_key"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.type(role_key("human"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/leads")
    assert HUMAN in page.locator(".who").inner_text()


def test_operations_stats_and_api_docs_in_the_browser(page: Any) -> None:
    sign_in(page, "admin")
    page.get_by_role("link", name="Operations").click()
    page.wait_for_url("**/ui/operations")
    assert page.get_by_role("heading", name="Projections").is_visible()
    assert page.get_by_role("button", name="Re-ingest this workspace's deliveries").is_visible()
    shot(page, "operations")
    page.get_by_role("link", name="Stats").click()
    page.wait_for_url("**/ui/stats")
    assert page.locator("svg").count() >= 1
    shot(page, "stats")
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=SEEN)
    assert "leadledger" in page.locator(".swagger-ui .info .title").inner_text().lower()
    shot(page, "api-docs", full_page=False)
