"""Subscriptions and their delivery log as the API uses them (subscription_tables.py);
the dispatcher's side, leases and cursors, is in subscription_leases.py. The signing secret
is stored wrapped (secret_box.py): `Subscription.secret` is its stored form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from adapters.outbound.subscription_tables import deliveries, metadata, subscriptions

s, d = subscriptions, deliveries


@dataclass(frozen=True)
class Subscription:
    id: str
    workspace: str
    url: str
    types: tuple[str, ...]
    lead_id: str | None
    secret: str  # its stored form: wrapped (secret_box.py), or plain from before
    created_at: float
    cursor_position: int
    cursor_seq: int
    state: str
    failures: int
    next_attempt_at: float | None
    disabled_reason: str | None
    disabled_at: float | None


def subscription_of(row: Any) -> Subscription:
    m = row._mapping
    return Subscription(
        **{k: m[k] for k in Subscription.__dataclass_fields__ if k != "types"},
        types=tuple(m["types"] or ()),
    )


def create_tables(engine: Engine) -> None:
    """Once per start, under the startup lock (concurrent CREATEs race on PostgreSQL)."""
    metadata.create_all(engine, checkfirst=True)


class SubscriptionStore:
    """`engine` writes (and claims); `reader` answers the API's reads (on SQLite a read on
    the write engine would take the write lock)."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine

    # -- the API's side ---------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        with self.engine.begin() as conn:
            values = {k: getattr(sub, k) for k in Subscription.__dataclass_fields__}
            conn.execute(insert(s).values(**{**values, "types": list(sub.types)}))

    def of_workspace(self, workspace: str) -> list[Subscription]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(s).where(s.c.workspace == workspace).order_by(s.c.created_at)
            )
            return [subscription_of(r) for r in rows]

    def get(self, workspace: str, sub_id: str) -> Subscription | None:
        with self.reader.connect() as conn:
            row = conn.execute(
                select(s).where(s.c.workspace == workspace, s.c.id == sub_id)
            ).first()
            return None if row is None else subscription_of(row)

    def remove(self, workspace: str, sub_id: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(s).where(s.c.workspace == workspace, s.c.id == sub_id))
            if gone.rowcount:
                conn.execute(delete(d).where(d.c.subscription_id == sub_id))
            return bool(gone.rowcount)

    def log(self, sub_id: str, limit: int) -> list[dict[str, Any]]:
        """The subscription's attempts, newest first."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(d).where(d.c.subscription_id == sub_id).order_by(d.c.id.desc()).limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    def replay(self, workspace: str, sub_id: str, position: int, seq: int) -> bool:
        """Deliver again from after (position, seq); re-enables a disabled subscription and
        takes the lease away from whoever holds it (its next update fails: it stops)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(s)
                .where(s.c.workspace == workspace, s.c.id == sub_id)
                .values(
                    cursor_position=position,
                    cursor_seq=seq,
                    state="active",
                    failures=0,
                    next_attempt_at=None,
                    disabled_reason=None,
                    disabled_at=None,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return bool(done.rowcount)
