"""One legacy row, validated as a whole before anything of it is recorded.

The export's field names are kept (`kapso_name`, `lead_status`, `supabaseId`, `_id`…);
fields leadledger does not use are ignored. Times are epoch milliseconds, as Convex
stores them. Text must not contain NUL (PostgreSQL text cannot hold it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from domain.json_numbers import NumberOutOfRangeError, strict_loads

# Epoch milliseconds between 1970 and 9999: anything else is not a time the old app wrote.
MAX_EPOCH_MS = 253_402_300_799_999


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        found = "\x00" in value
    else:
        try:  # orjson escapes NUL as \u0000, in a fraction of json.dumps' time
            found = b"\\u0000" in orjson.dumps(value)
        except TypeError:  # what orjson refuses (a non-string key): the stdlib's text
            found = "\\u0000" in json.dumps(value, default=str)
    if found:
        raise ValueError("must not contain NUL characters")
    return value


def _epoch_ms(value: Any) -> Any:
    """Epoch ms as a number (JSON) or digits (CSV) → an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds, not a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("must be epoch milliseconds (a number)") from None
    if not isinstance(value, int | float) or not 0 <= value <= MAX_EPOCH_MS:
        raise ValueError(f"must be epoch milliseconds between 0 and {MAX_EPOCH_MS}")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an integer 0..100, not a boolean")
    return value


def _json_object(value: Any) -> Any:
    # CSV carries metadata as a JSON string column.
    if isinstance(value, str):
        try:
            return strict_loads(value)
        except NumberOutOfRangeError:
            raise  # its own message: the JSON is fine, the number does not fit
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"not a JSON object: {exc}") from None
    return value


NoNul = AfterValidator(_no_nul)
EpochMs = Annotated[datetime, BeforeValidator(_epoch_ms)]
LegacyId = Annotated[str, Field(min_length=1, max_length=200), NoNul]


class _Row(BaseModel):
    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True, frozen=True
    )


class LegacyContact(_Row):
    """A row of the old `contacts` table."""

    convex_id: LegacyId | None = Field(default=None, alias="_id")
    supabase_id: LegacyId | None = Field(default=None, alias="supabaseId")
    kapso_name: Annotated[str | None, Field(max_length=1000), NoNul] = None
    phone: Annotated[str | None, Field(max_length=100)] = None
    lead_status: Annotated[str | None, Field(max_length=100)] = None
    lead_score: Annotated[int | None, Field(ge=0, le=100), BeforeValidator(_not_bool)] = None
    metadata: Annotated[
        Annotated[dict[str, Any], Field(max_length=200)] | None,
        BeforeValidator(_json_object),
        NoNul,
    ] = None
    created_at: EpochMs | None = None
    updated_at: EpochMs | None = None

    @property
    def ids(self) -> list[str]:
        """Every legacy id a note may use to name this contact."""
        return [i for i in (self.convex_id, self.supabase_id) if i]


class LegacyNote(_Row):
    """A row of the old `contactNotes` table."""

    convex_id: LegacyId | None = Field(default=None, alias="_id")
    supabase_id: LegacyId | None = Field(default=None, alias="supabaseId")
    contact_id: LegacyId
    user_id: Annotated[str, Field(min_length=1, max_length=200), NoNul] = "legacy"
    content: Annotated[str, Field(min_length=1, max_length=20_000), NoNul]
    created_at: EpochMs | None = None

    @property
    def legacy_id(self) -> str | None:
        return self.convex_id or self.supabase_id
