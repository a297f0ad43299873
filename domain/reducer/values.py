"""Reading stored values leniently: events hold what sources said, blanks and all."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.merge import is_blank


def as_text(value: Any) -> str:
    """A value shown where text belongs: text as it is, anything else (an object or a list
    a source sent in a text field, a number) as JSON text, never as a Python repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple | bool | int | float):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)  # a value the store decodes to an object (a UUID, a datetime)


def text(value: Any) -> str | None:
    """A stored text, or None when blank (a shredded field reads None too)."""
    return None if is_blank(value) else as_text(value)


def joined_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value if not is_blank(v))
    return as_text(value)


def number(value: Any, default: int | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)
