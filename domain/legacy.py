"""A contact row from the team's previous system, as the import records it.

The row's fields fall into groups that change independently (name, status, score,
metadata). The aggregate keeps a fingerprint of each group per legacy id, so re-importing
the same row adds nothing and a changed row adds only its changed groups.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FIELD_GROUPS: tuple[str, ...] = ("name", "status", "lead_score", "metadata")


@dataclass(frozen=True)
class LegacyContactRow:
    legacy_id: str  # the old `_id`, else `supabaseId`, else "phone:<E.164>"
    convex_id: str | None = None
    supabase_id: str | None = None
    name: str | None = None
    legacy_status: str | None = None  # as the old app wrote it (lower case)
    status: str | None = None  # mapped onto the pipeline by the legacy table
    temperature: str | None = None
    reason: str | None = None  # the mapping, for the status history
    lead_score: int | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def fingerprints(self) -> dict[str, str]:
        """One short hash per field group; a group's hash changes when any value in it does."""
        status = f"{self.legacy_status}\x1f{self.status}\x1f{self.temperature}"
        return {
            "name": _digest(self.name),
            "status": _digest(status),
            "lead_score": _digest(self.lead_score),
            "metadata": _digest(self.metadata),
        }


def fingerprint_key(legacy_id: str, group: str) -> str:
    return f"{legacy_id}\x1f{group}"


def _digest(value: Any) -> str:
    # Typed, so the name "null" and no name differ; JSON only where needed (it is slow).
    if value is None:
        text = "n"
    elif isinstance(value, str):
        text = "s" + value
    elif isinstance(value, int):
        text = f"i{value}"
    else:
        text = "j" + json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


NOTHING = _digest(None)
