"""Bounds on free-form JSON at the edge: Sarah's `extracted_data` is an open object, so
its size is bounded here, item by item — a list of 800,000 pain points would otherwise be
stored, folded and served on every read of the lead."""

from __future__ import annotations

from typing import Any

from api.http.errors import ApiError

MAX_ITEMS = 100  # items in a list (pain points…), keys in an object
MAX_TEXT = 2_000  # characters in a text value
MAX_KEY = 200  # characters in a key


def check_bounds(value: Any, field: str) -> None:
    """422 naming the first value over its bound (e.g. `extracted_data.pain_points`) and
    the bound; iterative, like every walk over client JSON."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str) and len(node) > MAX_TEXT:
            raise _over(path, f"at most {MAX_TEXT} characters ({len(node)} given)")
        if isinstance(node, list):
            if len(node) > MAX_ITEMS:
                raise _over(path, f"at most {MAX_ITEMS} items ({len(node)} given)")
            stack.extend((item, f"{path}.{i}") for i, item in enumerate(node))
        elif isinstance(node, dict):
            if len(node) > MAX_ITEMS:
                raise _over(path, f"at most {MAX_ITEMS} keys ({len(node)} given)")
            for key, item in node.items():
                if len(key) > MAX_KEY:
                    raise _over(path, f"keys of at most {MAX_KEY} characters")
                stack.append((item, f"{path}.{key}"))


def _over(path: str, bound: str) -> ApiError:
    return ApiError(422, "validation_error", f"{path}: {bound}", path)
