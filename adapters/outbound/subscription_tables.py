"""Outbound webhook subscriptions and their delivery log, in the views database.

Not a projection: a subscription's cursor (the last change delivered) is operational state
that must survive rebuilds. Change ids are stable across rebuilds, so the cursor stays valid.
Times are epoch seconds (floats): the same on SQLite and PostgreSQL, cheap to compare.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

subscriptions = Table(
    "ll_webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("types", JSON, nullable=False),  # [] = every type
    Column("lead_id", String(36)),
    Column("secret", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    # The last change delivered (or skipped by a replay): delivery resumes after it.
    Column("cursor_position", Integer, nullable=False),
    Column("cursor_seq", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # active | disabled
    Column("failures", Integer, nullable=False),  # consecutive failed attempts
    Column("next_attempt_at", Float),  # NULL: now
    Column("disabled_reason", Text),
    Column("disabled_at", Float),
    # Which process delivers it, until when (SELECT ... FOR UPDATE SKIP LOCKED claims).
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Index("ix_webhook_subscriptions_ws", "workspace"),
)

deliveries = Table(
    "ll_webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("change_id", String(40), nullable=False),
    Column("lead_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1 for the first try of this change
    Column("outcome", String(16), nullable=False),  # delivered | failed
    Column("http_status", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("error", Text),
    Column("at", Float, nullable=False),
    Index("ix_webhook_deliveries_sub", "subscription_id", "id"),
)
