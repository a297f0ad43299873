"""JSON numbers a double cannot hold. Python's json reads `1e400` as infinity, which every
encoder then writes as null: the value would change silently. Every JSON reader of
leadledger refuses it instead (or keeps the text as sent), as it refuses NaN."""

from __future__ import annotations

import json
import math
from typing import Any


class NumberOutOfRangeError(ValueError):
    """A JSON number beyond a double's range (about ±1.8e308)."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 40 else f"{text[:37]}..."
        super().__init__(f"the number {shown} is out of range (a double holds about ±1.8e308)")
        self.text = text


def finite_float(text: str) -> float:
    """`parse_float` for json.loads: the number's value, or NumberOutOfRangeError."""
    value = float(text)
    if not math.isfinite(value):
        raise NumberOutOfRangeError(text)
    return value


def no_constant(name: str) -> Any:
    """`parse_constant` for json.loads: NaN, Infinity and -Infinity are not JSON."""
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def strict_loads(text: str | bytes) -> Any:
    """json.loads refusing what JSON has no value for: ValueError (JSONDecodeError for
    malformed text and NaN/Infinity, NumberOutOfRangeError for 1e400)."""
    return json.loads(text, parse_float=finite_float, parse_constant=no_constant)
