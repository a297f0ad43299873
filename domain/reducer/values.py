"""Reading stored values leniently: events hold what sources said, blanks and all."""

from __future__ import annotations

from typing import Any

from domain.merge import is_blank


def text(value: Any) -> str | None:
    """A stored text, or None when blank (a shredded field reads None too)."""
    return None if is_blank(value) else str(value)


def joined_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value if not is_blank(v))
    return str(value)


def number(value: Any, default: int | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)
