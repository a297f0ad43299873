"""Identity by construction: a lead's id is a pure function of (workspace, E.164 phone,
generation); the generation moves on only when a lead is erased."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

# Fixed namespace: changing it would re-key every lead, so it never changes.
LEAD_NAMESPACE = UUID("6c1b1f0e-4f3a-5d8e-9a57-1e2d3c4b5a69")
DELIVERY_NAMESPACE = UUID("0f5c2a3e-8d1b-5e47-b2c9-7a6d5e4f3c21")


@lru_cache(maxsize=65536)  # pure, and asked several times per write (batching, probing)
def lead_id_for(workspace: str, phone_e164: str, generation: int = 0) -> UUID:
    """Generation 0 is the phone's first lead. After an erasure the same phone starts a
    new, unlinked history under the next generation (docs/erasure.md)."""
    if generation == 0:
        return uuid5(LEAD_NAMESPACE, f"{workspace}\x1f{phone_e164}")
    return uuid5(LEAD_NAMESPACE, f"{workspace}\x1f{phone_e164}\x1f{generation}")


def unhandled_delivery_id_for(workspace: str, key: str) -> UUID:
    return uuid5(DELIVERY_NAMESPACE, f"{workspace}\x1f{key}")
