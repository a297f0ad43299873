"""The key ring on its own: lifecycle rules, the grace period, and how rarely a key's use
is written (memory and SQLite; PostgreSQL runs in tests/e2e/test_keys_cli.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.principal import Role
from service_layer.key_ring import CACHE_SECONDS, KEY_PREFIX, ApiKeyError
from tests.conftest import services_at
from tests.support import WORKSPACE, role_key


@pytest.mark.parametrize("backend_name", ["memory", "sqlite"])
def test_lifecycle(tmp_path: Path, backend_name: str) -> None:
    with services_at(backend_name, tmp_path) as services:
        service = services.service
        issued = service.create_api_key(WORKSPACE, "brain", "brain-v2")
        assert issued.secret.startswith(KEY_PREFIX)
        principal = service.authenticate(issued.secret)
        assert principal is not None
        assert (principal.workspace, principal.role, principal.name) == (
            WORKSPACE,
            Role.BRAIN,
            "brain-v2",
        )
        assert principal.key_id == issued.key.id

        # A use is written once a minute at most, whatever the traffic.
        [listed] = [k for k in service.api_keys(WORKSPACE) if k.id == issued.key.id]
        first_use = listed.last_used_at
        assert first_use is not None
        time.sleep(CACHE_SECONDS + 0.1)
        assert service.authenticate(issued.secret) is not None
        [listed] = [k for k in service.api_keys(WORKSPACE) if k.id == issued.key.id]
        assert listed.last_used_at == first_use

        rotated = service.rotate_api_key(issued.key.id, timedelta(seconds=1))
        assert service.authenticate(rotated.secret) is not None
        assert service.authenticate(issued.secret) is not None  # in its grace period
        with pytest.raises(ApiKeyError):
            service.rotate_api_key(issued.key.id, timedelta(hours=1))  # rotated already
        time.sleep(1 + CACHE_SECONDS + 0.1)
        assert service.authenticate(issued.secret) is None
        assert service.authenticate(rotated.secret) is not None

        service.revoke_api_key(rotated.key.id)
        time.sleep(CACHE_SECONDS + 0.1)
        assert service.authenticate(rotated.secret) is None
        now = datetime.now(UTC)
        states = {k.id: k.state(now) for k in service.api_keys(WORKSPACE)}
        assert (states[issued.key.id], states[rotated.key.id]) == ("expired", "revoked")


def test_refusals_change_nothing(tmp_path: Path) -> None:
    with services_at("memory", tmp_path) as services:
        service = services.service
        before = service.api_keys()
        for workspace, role, name in (
            ("nowhere", "human", "dewi"),
            (WORKSPACE, "superuser", "dewi"),
            (WORKSPACE, "human", " "),
            (WORKSPACE, "human", "a\x00b"),
        ):
            with pytest.raises(ApiKeyError):
                service.create_api_key(workspace, role, name)
        with pytest.raises(ApiKeyError, match="not found"):
            service.revoke_api_key("key_nope")
        config_key = next(k for k in before if k.origin == "config")
        with pytest.raises(ApiKeyError, match="config file"):
            service.revoke_api_key(config_key.id)
        with pytest.raises(ApiKeyError, match="negative"):
            service.rotate_api_key(config_key.id, timedelta(seconds=-1))
        assert service.api_keys() == before
        # Keys declared in the config are principals of their role and name.
        principal = service.authenticate(role_key("console"))
        assert principal is not None
        assert (principal.role, principal.name) == (Role.CONSOLE, "crm-console")
