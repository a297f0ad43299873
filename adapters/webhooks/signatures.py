"""Webhook signatures: HMAC-SHA256 of the raw body bytes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def matching_workspaces(
    header: str | None, body: bytes, secrets: Iterable[tuple[str, str]]
) -> set[str]:
    """Workspaces whose secret signed `body`. Kapso sends bare hex; Meta sends `sha256=<hex>`.

    Every secret is tried (no early exit), so timing does not reveal which one matched;
    two secrets per workspace make rotation seamless.
    """
    if not header:
        return set()
    given = header.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256=") :]
    # Bytes, not str: compare_digest refuses non-ASCII str (a hostile header must be a 401).
    given_bytes = given.lower().encode("utf-8", "replace")
    found: set[str] = set()
    for workspace, secret in secrets:
        if hmac.compare_digest(sign(secret, body).encode(), given_bytes):
            found.add(workspace)
    return found
