"""The legacy status table: how the old `lead_status` values map onto the new model.

The old system mixed temperature and stage in one field (`hot`, `warm`, `cold`, `client`,
`lost`); leadledger keeps them apart. The table is TOML, so a team can change it::

    [legacy_status]
    hot = { status = "qualified", temperature = "hot" }
    client = { status = "converted" }

A `[legacy_status]` table replaces the default one as a whole (what you read is what
applies); a value not in the table is rejected as `unknown_status`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from domain.values import LeadStatus, Temperature

DEFAULT_MAPPING_TOML = """\
[legacy_status]
hot = { status = "qualified", temperature = "hot" }
warm = { status = "qualified", temperature = "warm" }
cold = { status = "new", temperature = "cold" }
client = { status = "converted" }
lost = { status = "archived" }
"""


class MappingError(ValueError):
    """The mapping text is not a valid legacy status table."""


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

    def map(self, legacy: str) -> Mapped | None:
        """The mapping of a legacy value (case and surrounding spaces ignored), or None."""
        return self.table.get(legacy.strip().lower())


def load_mapping(text: str) -> LegacyMapping:
    """Parse a TOML document's `[legacy_status]` table; the default when it has none."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping is not valid TOML: {exc}") from None
    table = doc.get("legacy_status")
    if table is None:
        return DEFAULT_MAPPING
    if not isinstance(table, dict) or not table:
        raise MappingError("'legacy_status' must be a non-empty table of value = {status = ...}")
    return LegacyMapping({key.strip().lower(): _entry(key, v) for key, v in table.items()})


def mapping_from_files(*paths: Path | None) -> LegacyMapping:
    """The first `[legacy_status]` table found in the given files that exist, else the
    default (e.g. `--mapping FILE`, then the workspace config file)."""
    for path in paths:
        if path is None or not path.exists():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            if "legacy_status" in tomllib.loads(text):
                return load_mapping(text)
        except (OSError, tomllib.TOMLDecodeError, MappingError) as exc:
            raise MappingError(f"{path}: {exc}") from None
    return DEFAULT_MAPPING


def _entry(key: str, value: Any) -> Mapped:
    if not key.strip():
        raise MappingError("a legacy status value must not be blank")
    if not isinstance(value, dict) or set(value) - {"status", "temperature"}:
        raise MappingError(f"legacy_status.{key}: expected {{status = ..., temperature = ...}}")
    status, temperature = value.get("status"), value.get("temperature")
    if status not in {s.value for s in LeadStatus}:
        raise MappingError(f"legacy_status.{key}: unknown status {status!r}")
    if temperature is not None and temperature not in {t.value for t in Temperature}:
        raise MappingError(f"legacy_status.{key}: unknown temperature {temperature!r}")
    return Mapped(str(status), None if temperature is None else str(temperature))


DEFAULT_MAPPING: LegacyMapping = load_mapping(DEFAULT_MAPPING_TOML)
