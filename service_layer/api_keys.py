"""The application service's API key methods (service_layer/key_ring.py does the work):
who a key is, and the keys' lifecycle. The HTTP API and the CLI call these, never the
key table."""

from __future__ import annotations

from datetime import timedelta

from domain.principal import Principal
from service_layer.key_ring import IssuedKey, KeyInfo, KeyRing


class ApiKeyMethods:
    _keys: KeyRing

    def authenticate(self, secret: str) -> Principal | None:
        """The principal of a key; None for an unknown, revoked or expired one."""
        return self._keys.authenticate(secret)

    def create_api_key(self, workspace: str, role: str, name: str) -> IssuedKey:
        return self._keys.create(workspace, role, name)

    def api_keys(self, workspace: str | None = None) -> list[KeyInfo]:
        return self._keys.all_keys(workspace)

    def revoke_api_key(self, key_id: str, workspace: str | None = None) -> KeyInfo:
        """Revoke; with `workspace`, only a key of that workspace (else not found)."""
        return self._keys.revoke(key_id, workspace)

    def rotate_api_key(
        self, key_id: str, grace: timedelta, workspace: str | None = None
    ) -> IssuedKey:
        return self._keys.rotate(key_id, grace, workspace)
