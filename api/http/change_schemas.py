"""The change feed's query parameters and answers (docs/changes.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.reducer.changes import ChangeItem, ChangeType


class ChangesParams(BaseModel):
    """GET /changes and GET /changes/stream."""

    model_config = ConfigDict(extra="ignore")

    after: str | None = Field(
        None, max_length=40, description="A change id (`1234.0`); only later changes come"
    )
    limit: int = Field(100, ge=1, le=1000, description="Page size, 1..1000 (GET /changes)")
    types: list[ChangeType] = Field(
        default_factory=list, description="Only these types (repeat or comma-separate)"
    )
    lead_id: UUID | None = Field(None, description="Only this lead's changes")


class ChangeOut(BaseModel):
    id: str = Field(description="The cursor: `<ledger position>.<item>`")
    position: int
    lead_id: str
    type: str
    at: str = Field(description="When the source says it happened (UTC)")
    recorded_at: str
    source: str | None
    actor: str | None
    principal: dict[str, Any] | None
    decision: dict[str, Any] | None
    data: dict[str, Any]


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    next_cursor: str | None = Field(description="Pass back as `after`; the last id, or `after`")


def change_out(item: ChangeItem) -> dict[str, Any]:
    return item.public()
