"""The hot path's value encoders mean what the straightforward ones meant: the change feed's
`plain` (exact-class fast paths) and the view rows' JSON and time text (orjson, one
isoformat call), checked against the stdlib reading of the same values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.reducer.changes import UNDIFFED, diff, plain
from projections.rows import _json, _json_in, _sqlite_time, storable


def reference_plain(value: Any) -> Any:
    """`plain` as first written: an isinstance chain, no shortcuts."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): reference_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reference_plain(v) for v in value]
    return value


zones = st.sampled_from([None, UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3))])
datetimes = st.builds(
    lambda d, z: d.replace(tzinfo=z), st.datetimes(min_value=datetime(1971, 1, 2)), zones
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.uuids(),
    datetimes,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_plain_gives_what_the_isinstance_chain_gave(value: Any) -> None:
    assert plain(value) == reference_plain(value)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**64, max_value=2**70),  # past orjson's 64 bits
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),  # NUL included
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(json_values)
def test_a_json_cell_reads_back_as_the_stdlib_would_read_it(value: Any) -> None:
    stored = _json(value)
    assert "\\u0000" not in stored  # PostgreSQL's JSON cannot hold a NUL
    assert _json_in(stored) == json.loads(json.dumps(storable(value)))


def test_a_cell_the_stdlib_wrote_reads_as_written() -> None:
    assert _json_in(json.dumps({"a": [1, "é"]})) == {"a": [1, "é"]}
    assert _json_in('{"big": 123456789012345678901234567890}') == {
        "big": 123456789012345678901234567890
    }
    assert _json_in(None) is None


def test_an_escaped_backslash_before_u0000_is_kept_as_written() -> None:
    # The text \u0000 (six characters, no NUL) is not a NUL: nothing to replace.
    assert _json_in(_json({"t": "\\u0000"})) == {"t": "\\u0000"}


@given(datetimes)
def test_a_time_is_stored_as_naive_utc_text(value: datetime) -> None:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    expected = aware.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    assert _sqlite_time(value) == expected


def reference_diff(before: Any, after: Any) -> dict[str, dict[str, Any]]:
    """`diff` as first written: every field compared by equality."""
    old = {} if before is None else vars(before)
    return {
        name: {"before": reference_plain(old.get(name)), "after": reference_plain(value)}
        for name, value in vars(after).items()
        if name not in UNDIFFED and (name not in old or old.get(name) != value)
    }


field_values = st.dictionaries(
    st.sampled_from(["name", "status", "score", "version", "updated_at", "extracted", "at"]),
    values,
    max_size=7,
)


@given(st.one_of(st.none(), field_values), field_values, st.booleans())
def test_diff_gives_what_comparing_every_field_gave(
    before: dict[str, Any] | None, after: dict[str, Any], share: bool
) -> None:
    if share and before is not None:  # the reducer carries unchanged values over as is
        after = {**before, **after}
    old = None if before is None else SimpleNamespace(**before)
    new = SimpleNamespace(**after)
    assert diff(cast(Any, old), cast(Any, new)) == reference_diff(old, new)
