"""JSON for the terminal: the same shapes as the HTTP API's answers, times in ISO 8601 UTC,
ids as text, typed values (enums, extracted data) as plain JSON, never Python reprs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from domain.reducer import ContactView, LedgerEvent

_ANY: TypeAdapter[Any] = TypeAdapter(Any)
# Provenance is lifted out of `data`, as GET /leads/{id}/events does.
_PROVENANCE = ("source", "actor", "occurred_at", "received_at", "idempotency_key")


def dumps(value: Any) -> str:
    return _ANY.dump_json(_utc(value)).decode()


def compact(value: Any) -> str:
    """A value for a table cell: JSON without the nulls and empty lists."""
    return dumps(_pruned(_ANY.dump_python(value, mode="json", exclude_none=True)))


def lead_json(view: ContactView) -> dict[str, Any]:
    """A contact view as GET /leads shows it (`erased` derived from `erased_at`)."""
    fields = dataclasses.asdict(view)
    fields.pop("source_times", None)  # internal: the source time of each merged value
    fields["erased"] = view.erased_at is not None
    return fields


def event_json(event: LedgerEvent) -> dict[str, Any]:
    data = dict(event.data)
    provenance = {name: data.pop(name, None) for name in _PROVENANCE}
    return {
        "position": event.position,
        "type": event.type,
        "recorded_at": event.recorded_at,
        **provenance,
        "data": data,
    }


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, [], {})}
    return value


def _utc(value: Any) -> Any:
    """Every datetime in UTC (sources report other offsets; answers are always UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {key: _utc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_utc(item) for item in value]
    return value
