"""Helpers for tests: signed deliveries, sample loading, ledger counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from adapters.signatures import sign
from api.bootstrap import Services

WORKSPACE = "acme"
API_KEY = "test-key-acme"
OTHER_API_KEY = "k-other"
KAPSO_SECRET = "kapso-test-secret"
META_SECRET = "meta-test-secret"
META_VERIFY_TOKEN = "verify-me"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_API_KEY}"}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample(name))


def kapso_headers(
    body: bytes, event: str | None = None, batch: bool = False, idempotency_key: str | None = None,
    secret: str = KAPSO_SECRET,
) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": sign(secret, body),
               "X-Webhook-Payload-Version": "v2"}
    if event:
        headers["X-Webhook-Event"] = event
    if batch:
        headers["X-Webhook-Batch"] = "true"
    if idempotency_key:
        headers["X-Idempotency-Key"] = idempotency_key
    return headers


def meta_headers(body: bytes, secret: str = META_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + sign(secret, body)}


def post_kapso(client: TestClient, body: bytes | dict[str, Any], event: str | None = None,
               **kwargs: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhook/kapso", content=raw, headers=kapso_headers(raw, event, **kwargs))


def post_meta(client: TestClient, body: bytes | dict[str, Any]) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhook/meta", content=raw, headers=meta_headers(raw))


def ledger_size(services: Services) -> int:
    """How many events the ledger holds (max notification id; 0 when empty)."""
    return int(services.store.recorder.max_notification_id() or 0)


# -- appended: workspace routing and ledger reads shared by the e2e/integration tests -------

from uuid import UUID  # noqa: E402

from adapters.settings import Settings  # noqa: E402

PHONE_NUMBER_ID = "109876543210987"  # the WhatsApp number of every shared sample


def with_routing(settings: Settings, tmp_path: Path) -> Settings:
    """`settings` plus a config file mapping the samples' phone_number_id to WORKSPACE.

    The test settings hold two workspaces sharing the env webhook secrets, so a delivery is
    routed only when its phone_number_id belongs to one of them.
    """
    config = tmp_path / "routing.toml"
    config.write_text(
        f'[workspaces.{WORKSPACE}]\nphone_number_ids = ["{PHONE_NUMBER_ID}"]\n', encoding="utf-8"
    )
    return settings.model_copy(update={"config_file": config})


def lead_event_types(services: Services, lead_id: UUID) -> list[str]:
    """The class names of a lead's stored events, in order."""
    return [type(e).__name__ for e in services.store.events.get(lead_id)]
