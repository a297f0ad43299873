"""What the dashboard's browser tests share: a real `leadledger serve` on SQLite with two
workspaces, Playwright driving Debian's /usr/bin/chromium (scripts/install-tools.sh
installs it), webhook helpers, and the screenshots for docs/dashboard.md.

Screenshots are taken only when $LEADLEDGER_SCREENSHOTS names a directory
(scripts/dashboard_screenshots.sh sets it to docs/dashboard/): the tests stay the
source of the pictures, and an ordinary test run writes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.webhooks.payloads import kapso_batch
from tests.e2e.test_server import Server, clean_env, eventually, running_server
from tests.support import API_KEY, kapso_headers, role_key
from tests.support.kapso_deliveries import kapso_inbound
from tests.support.workspaces import WORKSPACE, workspaces_toml

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SEEN = 15_000  # ms for what the page does itself (navigation, a panel loading)
LIVE_MS = 1_000  # ms a change may take to show on an open page (issue 16), after its POST
DESKTOP = {"width": 1280, "height": 860}
BUDI, SARI = "+6281234500001", "+6281234500002"
FILLERS = 55  # older leads: more than one page of 50
OLDER = "1763000000"  # their messages' time, before the named leads' (1764000000)


FIRST: tuple[str, ...] = ("Agus", "Dewi", "Rizky", "Putri", "Hendra", "Wulan")
FIRST += ("Bayu", "Lestari", "Fajar", "Indah", "Yusuf")
LAST = ("Pratama", "Wijaya", "Saputra", "Kusuma", "Nugroho")
TEXTS = ("Halo", "Mau tanya harga paket", "Bisa kirim katalog?", "Info promo dong", "Permisi kak")


def filler_phone(n: int) -> str:
    return f"+62812340{n:05d}"


def filler_name(n: int) -> str:
    return f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST) % len(LAST)]}"


def inbound_batch(client: httpx.Client, elements: list[dict[str, Any]]) -> None:
    body = json.dumps(kapso_batch("whatsapp.message.received", elements)).encode()
    headers = kapso_headers(body, "whatsapp.message.received", batch=True)
    answer = client.post("/webhook/kapso", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def message(message_id: str, phone: str, name: str, text: str) -> dict[str, Any]:
    element = kapso_inbound(message_id, phone, phone, name=name)
    element["message"]["text"] = {"body": text}
    return element


def inbound(client: httpx.Client, message_id: str, phone: str, name: str, text: str) -> None:
    inbound_batch(client, [message(message_id, phone, name, text)])


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
            fillers = []
            for n in range(FILLERS):
                text = TEXTS[n % len(TEXTS)]
                element = message(f"wamid.f{n}", filler_phone(n), filler_name(n), text)
                element["message"]["timestamp"] = OLDER
                fillers.append(element)
            inbound_batch(client, fillers)
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
    context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    tab = context.new_page()
    yield tab
    context.close()


def lead_id_of(server: Server, phone: str) -> str:
    with server.client() as client:
        found = eventually(
            lambda: client.get(f"/leads/by-phone/{phone}", headers=AUTH),
            lambda r: r.status_code == 200,
            10.0,
        )
    assert found.status_code == 200, found.text
    return str(found.json()["lead_id"])


def sign_in(page: Any, role: str = "human", workspace: str = WORKSPACE) -> None:
    page.goto("/ui/")
    page.get_by_label("Workspace API key").fill(role_key(role, workspace))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/leads")


def following_the_stream(page: Any) -> None:
    """Wait until the page's EventSource is open (not polling)."""
    page.wait_for_function("document.documentElement.dataset.live === 'stream'", timeout=SEEN)


def stream_events(page: Any) -> int:
    return int(page.evaluate("document.documentElement.dataset.streamEvents || '0'"))


def shot(page: Any, name: str, full_page: bool = True) -> None:
    """docs/dashboard/<name>.png, when $LEADLEDGER_SCREENSHOTS asks for screenshots."""
    where = os.environ.get("LEADLEDGER_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=full_page)
