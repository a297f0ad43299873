"""The legacy status table: how the old `lead_status` values map onto the new model.

The old system mixed temperature and stage in one field (`hot`, `warm`, `cold`, `client`,
`lost`); leadledger keeps them apart. The table is TOML, so a team can change it::

    [legacy_status]
    hot = { status = "qualified", temperature = "hot" }
    client = { status = "converted" }

A `[legacy_status]` table replaces the default one as a whole (what you read is what
applies). Here, at import, it decides which values are accepted: a row whose value is not
in it is rejected as `unknown_status`. The row is recorded with the value as written; the
views map it with the policy's `[legacy_status]` table (domain/policy.py), so a mapping
change is a rebuild (docs/legacy-mapping.md).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from domain.legacy import (
    DEFAULT_LEGACY_MAPPING,
    DEFAULT_LEGACY_STATUS_TOML,
    LegacyMapping,
    Mapped,
    legacy_mapping,
)

# The table itself and its rules live in domain/legacy.py: the reducer applies it.
DEFAULT_MAPPING_TOML = DEFAULT_LEGACY_STATUS_TOML
DEFAULT_MAPPING: LegacyMapping = DEFAULT_LEGACY_MAPPING


class MappingError(ValueError):
    """The mapping text is not a valid legacy status table."""


def load_mapping(text: str) -> LegacyMapping:
    """Parse a TOML document's `[legacy_status]` table; the default when it has none."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level: a hostile text is refused
        raise MappingError("mapping is not valid TOML: nested too deeply") from None
    table = doc.get("legacy_status")
    if table is None:
        return DEFAULT_MAPPING
    try:
        return legacy_mapping(table)
    except ValueError as exc:
        raise MappingError(str(exc)) from None


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
        except RecursionError:
            raise MappingError(f"{path}: not valid TOML: nested too deeply") from None
    return DEFAULT_MAPPING


__all__ = [
    "DEFAULT_MAPPING",
    "DEFAULT_MAPPING_TOML",
    "LegacyMapping",
    "Mapped",
    "MappingError",
    "load_mapping",
    "mapping_from_files",
]
