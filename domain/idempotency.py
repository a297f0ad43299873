"""An idempotency key names one request: a retry with the same key must say the same thing.

A command without a natural key (Sarah's report, a status request, a release, a note)
dedups on the caller's `Idempotency-Key`. The lead remembers, per key, a fingerprint of
what the request said (its fact's type and attributes, without the receipt time); a later
command under the same key saying something else is refused (Stripe's rule), so a reused
key can neither be taken for a retry nor silently append a different fact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Attributes that differ between a request and its retry (or between an event as triggered
# and as read back from the store), or are the key itself.
NOT_SAID = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "class_version",
        "received_at",
        "idempotency_key",
    }
)


class IdempotencyKeyReusedError(ValueError):
    """The idempotency key was used before for a request that said something else."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request; "
            "use a new key for a new request"
        )
        self.key = key


def request_fingerprint(fact_type: str, attributes: Mapping[str, Any]) -> str:
    """What a request said, as a short digest: equal for a retry of the same request."""
    said = {k: v for k, v in attributes.items() if k not in NOT_SAID}
    text = json.dumps([fact_type, said], sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def refuse_if_reused(
    requests: Mapping[str, str] | None, fact_key: str, fact_type: str, said: Mapping[str, Any]
) -> None:
    """Raise unless `said` is what the request first recorded under `fact_key` said (or
    that is unknown: a lead from before fingerprints were kept)."""
    known = (requests or {}).get(fact_key)
    if known is not None and known != request_fingerprint(fact_type, said):
        raise IdempotencyKeyReusedError(fact_key.removeprefix("idem:"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # a retry sends the same text, read the same way
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)
