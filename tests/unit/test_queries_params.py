"""Query-string parsing, LIKE escaping, cursors and the generated OpenAPI parameters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.datastructures import QueryParams

from api.http.errors import ApiError
from api.http.handlers.lead_queries import audit_query, lead_query, parse_query
from api.http.query_schemas import AsOfParams, AuditParams, LeadListParams
from api.http.routes.params import query_params
from projections.cursors import audit_after, audit_cursor, decode_cursor, lead_after, lead_cursor
from projections.search import like_pattern

LEAD = "6f1c2a3e-8d1b-5e47-b2c9-7a6d5e4f3c21"


def refused(text: str) -> str:
    """The field a 422 for GET /leads?<text> names."""
    with pytest.raises(ApiError) as caught:
        lead_query(QueryParams(text))
    assert caught.value.status == 422
    assert caught.value.field is not None
    assert caught.value.message.startswith(caught.value.field)
    return caught.value.field


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Budi", "%budi%"),
        ("100%", "%100\\%%"),
        ("a_b", "%a\\_b%"),
        ("c:\\x", "%c:\\\\x%"),
        ("'; DROP TABLE x; --", "%'; drop table x; --%"),
    ],
)
def test_like_pattern_escapes_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


def test_defaults() -> None:
    query = lead_query(QueryParams(""))
    assert (query.sort, query.descending, query.limit, query.after) == (
        "last_message_at",
        True,
        50,
        None,
    )
    assert (query.statuses, query.q) == ((), None)


def test_lists_repeat_or_take_commas_and_empty_is_absent() -> None:
    query = lead_query(QueryParams("status=new&status=qualified,contacted&temperature=&q=&x=1"))
    assert query.statuses == ("new", "qualified", "contacted")
    assert (query.temperatures, query.q) == ((), None)
    assert all(type(s) is str for s in query.statuses)  # plain values for the SQL binds


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("status=lost", "status"),
        ("status=new,,bogus", "status"),
        ("temperature=HOT", "temperature"),
        ("chat_phase=x", "chat_phase"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("score_min=-1", "score_min"),
        ("score_max=101", "score_max"),
        ("score_min=9&score_max=8", "score_min"),
        ("sort=phone", "sort"),
        ("order=ASC", "order"),
        ("updated_since=soon", "updated_since"),
        ("q=%00", "q"),
        (f"q={'x' * 201}", "q"),
        ("cursor=%%%", "cursor"),
        ("last_message_until=9999-12-31T23:59:59-01:00", "last_message_until"),
    ],
)
def test_bad_values_name_their_field(text: str, field: str) -> None:
    assert refused(text) == field


def test_times_are_utc_and_a_decoded_plus_is_an_offset() -> None:
    query = lead_query(
        QueryParams("updated_since=2025-11-24T23:00:00 07:00&updated_until=2025-11-24T16:00:00")
    )
    assert query.updated_since == datetime(2025, 11, 24, 16, tzinfo=UTC)
    assert query.updated_until == datetime(2025, 11, 24, 16, tzinfo=UTC)
    assert query.updated_since.tzinfo is UTC
    as_of = parse_query(AsOfParams, QueryParams("as_of=2025-11-24T16%3A00%3A00%2B01%3A00")).as_of
    assert as_of == datetime(2025, 11, 24, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("last_message_at", datetime(2025, 11, 24, 16, 0, 0, 123456, tzinfo=UTC)),
        ("updated_at", datetime(2025, 11, 24, 16, tzinfo=timezone(timedelta(hours=7)))),
        ("lead_score", 50),
        ("lead_score", None),
        ("updated_at", None),
    ],
)
@pytest.mark.parametrize("descending", [True, False])
def test_lead_cursor_round_trips(sort: str, value: Any, descending: bool) -> None:
    cursor = lead_cursor((value, LEAD), sort, descending)
    assert not set(cursor) & set("=/+")  # URL-safe as it is
    assert lead_after(cursor, sort, descending) == (value, LEAD)
    with pytest.raises(ValueError, match="another query"):
        lead_after(cursor, sort, not descending)
    other = next(s for s in ("lead_score", "updated_at") if s != sort)
    with pytest.raises(ValueError, match="another query"):
        lead_after(cursor, other, descending)


def _forged(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "e30",
        _forged({"a": 1}),
        _forged(["leads/lead_score/desc", "50", LEAD]),
        _forged(["leads/lead_score/desc", True, LEAD]),
        _forged(["leads/lead_score/desc", 5, "x"]),
        _forged(["leads/lead_score/desc", 5, LEAD, "extra"]),
    ],
)
def test_forged_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every refusal is a ValueError by design
        lead_after(cursor, "lead_score", True)


def test_time_cursor_must_be_aware() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        lead_after(
            _forged(["leads/updated_at/asc", "2025-11-24T16:00:00", LEAD]), "updated_at", False
        )
    query = lead_query(
        QueryParams(
            f"sort=updated_at&order=asc&cursor={lead_cursor((None, LEAD), 'updated_at', False)}"
        )
    )
    assert query.after == (None, LEAD)


def test_audit_query_and_cursor() -> None:
    key = (datetime(2025, 11, 24, 16, tzinfo=UTC), LEAD, 7)
    assert audit_after(audit_cursor(key)) == key
    query = audit_query(QueryParams(f"source=human&actor=ana&limit=2&cursor={audit_cursor(key)}"))
    assert (query.source, query.actor, query.limit, query.after) == ("human", "ana", 2, key)
    with pytest.raises(ApiError) as caught:
        audit_query(QueryParams("source=robot"))
    assert caught.value.field == "source"
    with pytest.raises(ValueError, match="another query"):
        decode_cursor(lead_cursor((1, LEAD), "lead_score", True), "audit", 3)


@pytest.mark.parametrize("model", [LeadListParams, AuditParams, AsOfParams])
def test_openapi_parameters_are_self_contained(model: Any) -> None:
    params = query_params(model)
    assert [p.name for p in params] == list(model.model_fields)
    assert all(p.where == "query" and not p.required for p in params)
    assert "$ref" not in json.dumps([p.schema for p in params])  # enums inlined
    assert all(p.description for p in params)
