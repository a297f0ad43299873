"""A contact row from the team's previous system, and the table that maps its status.

The row is recorded as the old system wrote it (`ContactImported`); what its `lead_status`
means in the new model (pipeline status and temperature) is a conclusion the reducer draws
with the legacy status table, which the projections are built with (part of the policy:
changing it is a rebuild, docs/legacy-mapping.md).

The row's fields fall into groups that change independently (name, status, score,
metadata). The aggregate keeps a fingerprint of each group per legacy id, so re-importing
the same row adds nothing and a changed row adds only its changed groups.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from domain.values import LeadStatus, Temperature

DEFAULT_LEGACY_STATUS_TOML = """\
[legacy_status]
hot = { status = "qualified", temperature = "hot" }
warm = { status = "qualified", temperature = "warm" }
cold = { status = "new", temperature = "cold" }
client = { status = "converted" }
lost = { status = "archived" }
"""


@dataclass(frozen=True)
class LegacyContactRow:
    legacy_id: str  # the old `_id`, else `supabaseId`, else "phone:<E.164>"
    convex_id: str | None = None
    supabase_id: str | None = None
    name: str | None = None
    legacy_status: str | None = None  # as the old app wrote it
    lead_score: int | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def fingerprints(self) -> dict[str, str]:
        """One short hash per field group; a group's hash changes when any value in it does."""
        return {
            "name": _digest(self.name),
            "status": _digest(self.legacy_status),
            "lead_score": _digest(self.lead_score),
            "metadata": _digest(self.metadata),
        }


@dataclass(frozen=True)
class Mapped:
    """Where one legacy value lands: a pipeline status and, optionally, a temperature."""

    status: str
    temperature: str | None = None

    def reason(self, legacy: str) -> str:
        """The status history's reason: the mapping made visible."""
        extra = f" (temperature {self.temperature})" if self.temperature else ""
        return f"imported: legacy lead_status {legacy!r} → {self.status}{extra}"


@dataclass(frozen=True)
class LegacyMapping:
    table: Mapping[str, Mapped]

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", MappingProxyType(dict(self.table)))

    def __reduce__(self) -> tuple[type[LegacyMapping], tuple[dict[str, Mapped]]]:
        return (LegacyMapping, (dict(self.table),))  # a mappingproxy does not pickle

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.table.items())))

    def map(self, legacy: str) -> Mapped | None:
        """The mapping of a legacy value (case and surrounding spaces ignored), or None."""
        return self.table.get(normalised(legacy))

    def as_data(self) -> dict[str, dict[str, str | None]]:
        return {
            k: {"status": m.status, "temperature": m.temperature} for k, m in self.table.items()
        }


def normalised(legacy: str) -> str:
    return legacy.strip().lower()


def legacy_mapping(table: Any) -> LegacyMapping:
    """A `[legacy_status]` table (parsed TOML) as a mapping; ValueError when invalid."""
    if not isinstance(table, dict) or not table:
        raise ValueError("'legacy_status' must be a non-empty table of value = {status = ...}")
    return LegacyMapping({normalised(key): _entry(key, value) for key, value in table.items()})


def _entry(key: str, value: Any) -> Mapped:
    if not key.strip():
        raise ValueError("a legacy status value must not be blank")
    if not isinstance(value, dict) or set(value) - {"status", "temperature"}:
        raise ValueError(f"legacy_status.{key}: expected {{status = ..., temperature = ...}}")
    status, temperature = value.get("status"), value.get("temperature")
    if status not in {s.value for s in LeadStatus}:
        raise ValueError(f"legacy_status.{key}: unknown status {status!r}")
    if temperature is not None and temperature not in {t.value for t in Temperature}:
        raise ValueError(f"legacy_status.{key}: unknown temperature {temperature!r}")
    return Mapped(str(status), None if temperature is None else str(temperature))


DEFAULT_LEGACY_MAPPING = legacy_mapping(tomllib.loads(DEFAULT_LEGACY_STATUS_TOML)["legacy_status"])


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


def changed_groups(imported: dict[str, str] | None, row: LegacyContactRow) -> list[str]:
    """The field groups of `row` that differ from its legacy id's last import."""
    last = imported or {}
    return [
        group
        for group, digest in row.fingerprints().items()
        if last.get(fingerprint_key(row.legacy_id, group), NOTHING) != digest
    ]


def fingerprints_after(imported: dict[str, str] | None, row: LegacyContactRow) -> dict[str, str]:
    """A lead's per (legacy id, field group) fingerprints once `row` is imported."""
    after = dict(imported or {})
    for group, digest in row.fingerprints().items():
        after[fingerprint_key(row.legacy_id, group)] = digest
    return after
