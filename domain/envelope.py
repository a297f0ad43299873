"""Who said a fact, and when: carried by every lead event."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Said:
    """The provenance of one fact: source, actor, the source's time and our receipt time."""

    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None = None
    idempotency_key: str | None = None

    def fields(self) -> dict[str, Any]:
        """The provenance as event attributes (events hold plain values only)."""
        return asdict(self)
