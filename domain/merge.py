"""Merging Sarah's extracted data: a later report never blanks what an earlier one said.

Sarah sends every field on every phase, with null (or "") for what she did not ask about
this time; a naive `{**old, **new}` would erase phase 1's name in phase 2 (seed pitfall 3).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def is_blank(value: Any) -> bool:
    """True for values that say nothing: None, blank strings, empty lists/tuples/mappings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | Mapping):
        return len(value) == 0
    return False


def merge_extracted(current: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Return `current` updated with the non-blank values of `update`, as a new dict.

    Any key is accepted (unknown keys are kept: nothing said is lost). A non-blank value
    replaces the earlier one, except that two mappings are merged key by key with the same
    rule, so a nested detail is not lost either. Neither input is modified, and the result
    shares no mutable value with them.
    """
    merged = copy.deepcopy(dict(current))
    for key, value in update.items():
        if is_blank(value):
            continue
        earlier = merged.get(key)
        if isinstance(value, Mapping) and isinstance(earlier, Mapping):
            merged[key] = merge_extracted(earlier, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
