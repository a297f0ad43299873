"""The opaque cursors of the paged reads (GET /leads, GET /audit): what the last row of a
page was, so the next page continues after it.

A cursor comes back from the client, so it is read as hostile input: each value must be
one its column can hold (an integer of the column's range, an aware time that exists in
UTC, a UUID), or it is refused with ValueError (the API's 422) — never handed to the
database to overflow there. They are validated rather than signed: they carry nothing the
client did not see on the page, and validation needs no secret shared by every process.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.json_numbers import strict_loads

# Positions and scores are INTEGER columns: PostgreSQL's int4 is the narrowest range.
INT_COLUMN_RANGE = (-(2**31), 2**31 - 1)


def encode_cursor(kind: str, values: list[Any]) -> str:
    """An opaque cursor: base64url of [kind, *values] (datetimes as ISO text)."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([kind, *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, kind: str, size: int) -> list[Any]:
    """The values of a cursor made for `kind`; ValueError when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        decoded = strict_loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise ValueError("not a cursor of this API") from None
    if not isinstance(decoded, list) or len(decoded) != size + 1 or decoded[0] != kind:
        raise ValueError("the cursor belongs to another query (sort or order changed)")
    return decoded[1:]


def cursor_int(value: Any) -> int:
    """An integer an INTEGER column holds (bigger ones would overflow in the database)."""
    low, high = INT_COLUMN_RANGE
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("bad cursor value: not an integer")
    if not low <= value <= high:
        raise ValueError("bad cursor value: integer out of range")
    return value


def cursor_time(value: Any) -> datetime:
    """An aware ISO 8601 time that exists in UTC (0001-01-01T00:00+14:00 does not)."""
    if not isinstance(value, str):
        raise ValueError("bad cursor value: not a time")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError("bad cursor value: a time without offset")
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError("bad cursor value: time out of range") from None


def cursor_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("bad cursor value: not a lead id")
    return str(UUID(value))


def _lead_kind(sort: str, descending: bool) -> str:
    return f"leads/{sort}/{'desc' if descending else 'asc'}"


def lead_cursor(key: tuple[Any, str], sort: str, descending: bool) -> str:
    return encode_cursor(_lead_kind(sort, descending), list(key))


def lead_after(text: str, sort: str, descending: bool) -> tuple[Any, str]:
    """The (sort value, lead id) a lead cursor continues after; ValueError when invalid."""
    value, lead_id = decode_cursor(text, _lead_kind(sort, descending), 2)
    if value is not None:
        value = cursor_int(value) if sort == "lead_score" else cursor_time(value)
    return value, cursor_uuid(lead_id)


def audit_cursor(key: tuple[datetime, str, int]) -> str:
    return encode_cursor("audit", list(key))


def audit_after(text: str) -> tuple[datetime, str, int]:
    """The (at, lead id, position) an audit cursor continues after; ValueError when invalid."""
    at, lead_id, position = decode_cursor(text, "audit", 3)
    return cursor_time(at), cursor_uuid(lead_id), cursor_int(position)
