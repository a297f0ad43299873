"""Signed webhook deliveries posted to the test client, with the test workspace's secrets."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from adapters.webhooks import payloads
from tests.support.workspaces import KAPSO_SECRET, META_SECRET


def kapso_headers(
    body: bytes,
    event: str | None = None,
    batch: bool = False,
    idempotency_key: str | None = None,
    secret: str = KAPSO_SECRET,
) -> dict[str, str]:
    return payloads.kapso_headers(secret, body, event, batch=batch, idempotency_key=idempotency_key)


def meta_headers(body: bytes, secret: str = META_SECRET) -> dict[str, str]:
    return payloads.meta_headers(secret, body)


def _encoded(body: bytes | dict[str, Any]) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def post_kapso(
    client: TestClient, body: bytes | dict[str, Any], event: str | None = None, **kwargs: Any
) -> Any:
    raw = _encoded(body)
    return client.post(
        payloads.KAPSO_PATH, content=raw, headers=kapso_headers(raw, event, **kwargs)
    )


def post_meta(client: TestClient, body: bytes | dict[str, Any], secret: str = META_SECRET) -> Any:
    raw = _encoded(body)
    return client.post(payloads.META_PATH, content=raw, headers=meta_headers(raw, secret))
