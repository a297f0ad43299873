"""The dashboard in a real browser (Playwright driving Debian's /usr/bin/chromium, which
scripts/install-tools.sh installs) against a real `leadledger serve` on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.webhooks.payloads import kapso_batch
from tests.e2e.test_server import Server, clean_env, eventually, running_server
from tests.support import API_KEY, HUMAN, kapso_headers, role_key
from tests.support.kapso_deliveries import kapso_inbound
from tests.support.workspaces import workspaces_toml

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SEEN = 15_000  # ms a live update may take (the poll runs every 3 s)
BUDI, SARI, NEW = "+6281234500001", "+6281234500002", "+6281234500003"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("dashboard")
    config = tmp / "workspaces.toml"  # an admin key and one key per role in each workspace
    config.write_text(workspaces_toml(), encoding="utf-8")
    env = clean_env(
        LEADLEDGER_DATABASE_URL=f"sqlite:///{tmp}/ledger.db",
        LEADLEDGER_CONFIG_FILE=str(config),
    )
    with running_server(env, tmp, tmp / "server.log") as running:
        with running.client() as client:
            inbound(client, "wamid.d1", BUDI, "Budi Santoso", "Halo, saya mau tanya harga")
            inbound(client, "wamid.d2", SARI, "Sari Dewi", "Permisi")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/install-tools.sh")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(base_url=server.base_url)
    tab = context.new_page()
    yield tab
    context.close()


def inbound(client: httpx.Client, message_id: str, phone: str, name: str, text: str) -> None:
    element = kapso_inbound(message_id, phone, phone, name=name)
    element["message"]["text"] = {"body": text}
    body = json.dumps(kapso_batch("whatsapp.message.received", [element])).encode()
    headers = kapso_headers(body, "whatsapp.message.received", batch=True)
    answer = client.post("/webhook/kapso", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def lead_id_of(server: Server, phone: str) -> str:
    with server.client() as client:
        found = eventually(
            lambda: client.get(f"/leads/by-phone/{phone}", headers=AUTH),
            lambda r: r.status_code == 200,
            10.0,
        )
    assert found.status_code == 200, found.text
    return str(found.json()["lead_id"])


def sign_in(page: Any, role: str = "human") -> None:
    page.goto("/ui/")
    page.get_by_label("Workspace API key").fill(role_key(role))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/leads")


def test_a_wrong_key_is_refused_and_a_right_one_signs_in(page: Any) -> None:
    page.goto("/ui/signin")
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
    page.get_by_label("Search").fill("sari")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/ui/leads")
    assert rows.locator("td:first-child").all_inner_texts() == ["Sari Dewi"]
    assert "sari" not in page.url.lower()  # the search stays out of the URL
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Apply").click()
    assert rows.count() >= 2


def test_a_new_lead_appears_in_the_open_list_without_a_reload(page: Any, server: Server) -> None:
    sign_in(page)
    page.evaluate("window.notReloaded = true")
    with server.client() as client:
        inbound(client, "wamid.d3", NEW, "Andi Baru", "Baru datang")
    page.locator("tr", has_text="Andi Baru").wait_for(timeout=SEEN)
    assert page.evaluate("window.notReloaded") is True


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
    page.get_by_text("Raw events (").click()  # the panel loads its content when opened
    page.locator("#raw-events", has_text="InboundMessageReceived").wait_for(timeout=SEEN)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("New status").select_option("qualified")
    page.get_by_label("Reason").fill("asked for the price list")
    page.get_by_role("button", name="Set status").click()
    page.locator("[data-status]", has_text="qualified").wait_for(timeout=SEEN)
    assert page.locator("[data-status-by]").inner_text() == HUMAN
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
