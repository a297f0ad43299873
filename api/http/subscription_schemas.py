"""Outbound webhook subscriptions: what a client sends and what it is answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from adapters.outbound.subscription_store import Subscription
from domain.reducer.changes import ChangeType
from projections.feed_rows import Cursor


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description="The receiver (http/https)")
    types: list[ChangeType] = Field(default_factory=list, description="[]: every type")
    lead_id: UUID | None = Field(None, description="Only this lead's changes")
    after: str | None = Field(
        None, max_length=40, description="Start after this change id; default: from now on"
    )


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: str = Field(max_length=40, description="Deliver again every change after this id")


class SubscriptionOut(BaseModel):
    id: str
    url: str
    types: list[str]
    lead_id: str | None
    created_at: str
    cursor: str = Field(description="The last change delivered")
    state: str = Field(description="active | disabled")
    failures: int = Field(description="Consecutive failed attempts")
    next_attempt_at: str | None
    disabled_reason: str | None
    disabled_at: str | None
    secret: str | None = Field(None, description="The signing secret: answered once, at creation")


class SubscriptionsOut(BaseModel):
    subscriptions: list[SubscriptionOut]


class DeletedOut(BaseModel):
    deleted: str


class DeliveryOut(BaseModel):
    change_id: str
    lead_id: str
    attempt: int
    outcome: str
    http_status: int | None
    latency_ms: float
    error: str | None
    at: str


class DeliveriesOut(BaseModel):
    subscription_id: str
    deliveries: list[DeliveryOut]


def subscription_out(sub: Subscription, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "types": list(sub.types),
        "lead_id": sub.lead_id,
        "created_at": _iso(sub.created_at),
        "cursor": str(Cursor(sub.cursor_position, sub.cursor_seq)),
        "state": sub.state,
        "failures": sub.failures,
        "next_attempt_at": _iso(sub.next_attempt_at),
        "disabled_reason": sub.disabled_reason,
        "disabled_at": _iso(sub.disabled_at),
        "secret": secret,
    }


def delivery_out(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("change_id", "lead_id", "attempt", "outcome", "http_status", "latency_ms", "error")
    return {**{k: row[k] for k in keys}, "at": _iso(row["at"])}


def _iso(epoch: float | None) -> Any:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()
