"""A copy of the keys database alone (the SQLite file, or the PostgreSQL table's rows)
holds no usable lead key: none of the keys the live process has unwrapped appears in it,
and no 32 bytes of it decrypt a sealed field of the ledger."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.testclient import TestClient

from adapters.eventstore.database_url import DatabaseURL
from api.http.app import create_app
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import AUTH
from tests.support.key_rows import bare_keys, key_table_dump

PEOPLE = {"+6281234567890": "Budi Santoso", "+6281298765432": "Siti Rahayu"}


def sealed_fields(services: Services) -> list[tuple[UUID, bytes, bytes, bytes]]:
    """Each sealed lead event as stored: (lead, nonce, ciphertext, associated data)."""
    found = []
    for stored in services.store.recorder.select_notifications(start=1, limit=1000):
        state: dict[str, Any] = json.loads(stored.state)
        sealed = state.get("_sealed")
        if sealed is None:
            continue
        raw = base64.b64decode(sealed["box"])
        lead = UUID(str(stored.originator_id))
        aad = "\x1f".join(
            [str(lead), str(stored.originator_version), stored.topic, ",".join(sealed["fields"])]
        ).encode()
        found.append((lead, raw[:12], raw[12:], aad))
    return found


def opens(key: bytes, nonce: bytes, box: bytes, aad: bytes) -> bool:
    try:
        AESGCM(key).decrypt(nonce, box, aad)
    except InvalidTag:
        return False
    return True


def test_a_copy_of_the_keys_alone_decrypts_nothing(
    durable_database_url: str, tmp_path: Path
) -> None:
    services = bootstrap(settings_for(durable_database_url, tmp_path))
    try:
        with TestClient(create_app(services.service)) as client:
            for phone, name in PEOPLE.items():
                body = {
                    "contact_phone": phone,
                    "state": "greeting",
                    "extracted_data": {"name": name},
                }
                assert client.post("/sarah/state", json=body, headers=AUTH).status_code == 200
            url = DatabaseURL.parse(durable_database_url)
            live = bare_keys(url, services.store.keys.keyring)  # what the process's cache holds
            fields = sealed_fields(services)
            master = services.store.keys.keyring.current.secret
    finally:
        services.close()
    assert len(live) == len(PEOPLE)
    assert fields
    # The test can fail: each sealed field opens with its lead's live key.
    assert all(opens(live[str(lead)], *rest) for lead, *rest in fields)

    copy = key_table_dump(url)
    for key in live.values():
        assert key not in copy
        assert key.hex().encode() not in copy
    assert master not in copy
    windows = {copy[i : i + 32] for i in range(len(copy) - 31)}
    assert not any(opens(window, *rest) for window in windows for _, *rest in fields)
