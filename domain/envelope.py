"""Who said a fact, and when: carried by every lead event."""

from __future__ import annotations

from dataclasses import dataclass, fields
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
        """The provenance as event attributes (events hold plain values only). Shallow:
        dataclasses.asdict deep-copies, which showed up in ingest profiles."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
