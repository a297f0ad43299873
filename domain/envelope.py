"""Who said a fact, and when: carried by every lead event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.principal import Principal

# Not an event attribute of every event: only the command events record it (`principal`).
_NOT_ENVELOPE = frozenset({"principal"})


@dataclass(frozen=True)
class Said:
    """The provenance of one fact: source, actor, the source's time and our receipt time,
    and, for commands made with an API key, the key's principal."""

    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    principal: Principal | None = None

    def fields(self) -> dict[str, Any]:
        """The provenance as event attributes (events hold plain values only). Shallow:
        dataclasses.asdict deep-copies, which showed up in ingest profiles."""
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_ENVELOPE}

    def principal_record(self) -> dict[str, Any] | None:
        """The `principal` attribute of a command event: None when no key made it (the CLI
        on the server, or events older than principals)."""
        return None if self.principal is None else self.principal.record()
