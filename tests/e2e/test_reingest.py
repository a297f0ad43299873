"""`leadledger deliveries reingest`: a delivery kept raw by older code is translated by
today's translators, exactly once, and stays listed as re-ingested."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from domain.delivery import UnhandledDelivery
from domain.identity import lead_id_for
from domain.lead import Lead
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.e2e.test_legacy_import_cli_api import leadledger
from tests.support import API_KEY, AUTH, WORKSPACE, kapso_headers, ledger_size
from tests.whatsapp_fixtures import FIXTURES

BSUID = "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6"
MESSAGE_ID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJTVUlET05MWTAwMDAwMQA="
RECEIVED_AT = datetime(2025, 6, 9, 10, 0, tzinfo=UTC)


def kept_by_older_code(services: Services) -> UnhandledDelivery:
    """What main kept for a username-only user's message: the whole change, bare (no
    envelope), with the reason it had no phone."""
    body = json.loads((FIXTURES / "meta" / "bsuid_username_only_text.json").read_text())
    change = body["entry"][0]["changes"][0]
    kept = UnhandledDelivery(
        workspace=WORKSPACE,
        key="meta:kept-by-main",
        channel="meta",
        event_type="meta.messages",
        reason=f"messages.0: no sender phone (user_id {BSUID!r})",
        headers={},
        body=json.dumps(change, sort_keys=True),
        received_at=RECEIVED_AT,
    )
    services.ledger.keep_unhandled(kept)
    return kept


def test_an_old_kept_delivery_is_reingested_exactly_once(
    client: TestClient, services: Services
) -> None:
    kept = kept_by_older_code(services)
    lead = lead_id_for(WORKSPACE, f"wa_user:{BSUID}")
    [listed] = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert listed["reingested"] is False

    report = services.service.reingest_deliveries(None, "test")
    assert (report.reingested, report.still_unhandled) == (1, 0)
    assert report.appended == 2  # the contact's name and the message (Registered aside)
    messages = [
        e for e in services.store.events.get(lead) if isinstance(e, Lead.InboundMessageReceived)
    ]
    assert [(m.message_id, m.text, m.wa_id) for m in messages] == [
        (MESSAGE_ID, "Does it come in another color?", BSUID)
    ]
    assert messages[0].occurred_at == datetime.fromtimestamp(1749416383, tz=UTC)
    assert messages[0].received_at == RECEIVED_AT  # when it was first received, not now

    size = ledger_size(services)
    again = services.service.reingest_deliveries(WORKSPACE, "test")
    assert (again.reingested, again.appended, again.skipped) == (0, 0, 1)
    assert ledger_size(services) == size
    # The delivery stays, marked: a fact about it, nothing deleted.
    [listed] = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert (listed["id"], listed["reingested"]) == (str(kept.id), True)


def test_a_delivery_still_untranslatable_is_left_as_it_is(
    client: TestClient, services: Services
) -> None:
    body = {"phone_number_id": "109876543210987", "widget": {"spun": True}}
    raw = json.dumps(body).encode()
    resp = client.post(
        "/webhook/kapso", content=raw, headers=kapso_headers(raw, "whatsapp.widget.spun")
    )
    assert resp.json()["kept_unhandled"] == 1
    size = ledger_size(services)
    report = services.service.reingest_deliveries(None, "test")
    assert (report.reingested, report.still_unhandled) == (0, 1)
    assert ledger_size(services) == size


def test_the_cli_reingests_once(tmp_path: Path) -> None:
    """`leadledger deliveries reingest` on SQLite: the old row is translated, then nothing."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    built = bootstrap(settings_for(url, tmp_path))
    try:
        kept_by_older_code(built)
    finally:
        built.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env |= {
        "LEADLEDGER_DATABASE_URL": url,
        "LEADLEDGER_API_KEYS": f"{WORKSPACE}={API_KEY}",
        "LEADLEDGER_DATA_DIR": str(tmp_path),
    }
    first = leadledger("deliveries", "reingest", "--workspace", WORKSPACE, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Re-ingested 1 delivery(ies): 2 new fact(s); 0 still untranslatable" in first.stdout
    again = leadledger("deliveries", "reingest", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Re-ingested 0 delivery(ies): 0 new fact(s)" in again.stdout
