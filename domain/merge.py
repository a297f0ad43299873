"""Merging Sarah's extracted data: a later report never blanks what an earlier one said,
and an older one never replaces what a newer one said.

Sarah sends every field on every phase, with null (or "") for what she did not ask about
this time; a naive `{**old, **new}` would erase phase 1's name in phase 2 (seed pitfall 3).
Reports can also arrive out of order: `merge_said` keeps each key's source time, so the
merge is decided by the reports' own times, not by their arrival.
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


Times = dict[str, Any]  # key -> fixed-width UTC text, or (two mappings merged) nested Times


def newest(node: Any) -> str:
    """The latest time in a times node (a stamp, or a mapping of nodes); '' when none."""
    if isinstance(node, str):
        return node
    if isinstance(node, Mapping):
        return max((newest(child) for child in node.values()), default="")
    return ""


def merge_said(
    current: Mapping[str, Any], times: Mapping[str, Any], update: Mapping[str, Any], at: str
) -> tuple[dict[str, Any], Times]:
    """`merge_extracted` by the sources' time: `update`, said at `at`, replaces a key only
    when it is not older than what that key holds (at equal times the later arrival wins).
    Returns the merged data and its times; neither input is modified.

    Two mappings merge key by key with the same rule. A plain value and a mapping are
    compared with the mapping's newest time (a key that changes shape between reports
    is the one case where the result can depend on arrival order)."""
    merged = copy.deepcopy(dict(current))
    stamps: Times = copy.deepcopy(dict(times))
    for key, value in update.items():
        if is_blank(value):
            continue
        earlier, held = merged.get(key), stamps.get(key)
        if isinstance(value, Mapping) and isinstance(earlier, Mapping):
            inner = held if isinstance(held, Mapping) else dict.fromkeys(earlier, held or "")
            merged[key], stamps[key] = merge_said(earlier, inner, value, at)
        elif key not in merged or at >= newest(held):
            merged[key], stamps[key] = copy.deepcopy(value), at
    return merged, stamps
