"""The dispatcher's side of the subscriptions: leases, cursors, and logging attempts.

Every update a delivering process makes is conditional on it still holding the lease, so a
process that lost its lease (it stalled, another took over) stops instead of moving the
cursor: each change goes out once per subscription, in order, and at least once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from adapters.outbound.sender import Attempt
from adapters.outbound.subscription_store import Subscription, subscription_of
from adapters.outbound.subscription_tables import deliveries, subscriptions
from domain.reducer.changes import WHOLE_POSITION

s, d = subscriptions, deliveries


@dataclass(frozen=True)
class Waiting:
    """An active subscription as the dispatcher's quiet check sees it."""

    id: str
    workspace: str
    ready_at: float  # when it may be claimed: its retry wait and any lease are over


class SubscriptionLeases:
    """`engine` writes (and claims); `reader` reads (on SQLite a read on the write engine
    would take the write lock)."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine

    def waiting(self) -> list[Waiting]:
        """Every active subscription and when it may next be claimed: one small read, so
        a dispatcher with nothing due costs no more than this (and often not even this)."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(s.c.id, s.c.workspace, s.c.next_attempt_at, s.c.lease_until).where(
                    s.c.state == "active"
                )
            )
            return [
                Waiting(r.id, r.workspace, max(r.next_attempt_at or 0.0, r.lease_until or 0.0))
                for r in rows
            ]

    def claim(
        self,
        owner: str,
        now: float,
        lease: float,
        heads: Mapping[str, int],
        skip: Sequence[str],
        limit: int = 50,
    ) -> list[Subscription]:
        """Lease the active subscriptions that are due, held by nobody and behind their
        workspace's feed (`heads`: its last position; a cursor (P, WHOLE) is past all of P).
        On PostgreSQL `FOR UPDATE SKIP LOCKED` lets processes claim concurrently without
        waiting on each other; SQLite's single writer serialises the claims anyway."""
        due = _due(now, heads)
        if due is None or not self._any(due):  # a plain read first: no write lock when idle
            return []
        return self._claim(due, owner, now, lease, skip, limit)

    def _any(self, due: Any) -> bool:
        with self.reader.connect() as conn:
            return conn.execute(select(s.c.id).where(due).limit(1)).first() is not None

    def _claim(
        self, due: Any, owner: str, now: float, lease: float, skip: Sequence[str], limit: int
    ) -> list[Subscription]:
        with self.engine.begin() as conn:
            stmt = (
                select(s)
                .where(due)
                .order_by(s.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            found = [subscription_of(r) for r in conn.execute(stmt)]
            found = [sub for sub in found if sub.id not in skip]
            if found:
                conn.execute(
                    update(s)
                    .where(s.c.id.in_([sub.id for sub in found]))
                    .values(lease_owner=owner, lease_until=now + lease)
                )
            return found

    def renew(self, sub_id: str, owner: str, until: float) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(s).where(_held(sub_id, owner)).values(lease_until=until))
            return bool(done.rowcount)

    def caught_up(self, sub_id: str, owner: str, head: int) -> None:
        """Nothing after the cursor up to `head` is for this subscription (its filters): move
        past all of `head`, so it is not claimed again until the feed grows."""
        with self.engine.begin() as conn:
            conn.execute(
                update(s)
                .where(
                    _held(sub_id, owner),
                    or_(
                        s.c.cursor_position < head,
                        and_(s.c.cursor_position == head, s.c.cursor_seq < WHOLE_POSITION),
                    ),
                )
                .values(cursor_position=head, cursor_seq=WHOLE_POSITION)
            )

    def release_all(self, owner: str) -> None:
        """A process stopping gracefully hands its leases back (no wait for them to expire)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(s).where(s.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
            )

    def release(self, sub_id: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(s).where(_held(sub_id, owner)).values(lease_owner=None, lease_until=None)
            )

    def delivered(
        self,
        sub: Subscription,
        owner: str,
        change: tuple[str, str, int, int],
        attempt: Attempt,
        attempt_no: int,
        now: float,
    ) -> bool:
        """Log the success and move the cursor past the change (False: lease lost)."""
        change_id, lead_id, position, seq = change
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(s)
                .where(_held(sub.id, owner))
                .values(cursor_position=position, cursor_seq=seq, failures=0, next_attempt_at=None)
            )
            if not moved.rowcount:
                return False
            log = _log(sub.id, change_id, lead_id, attempt, attempt_no, now)
            conn.execute(insert(d).values(**log))
            return True

    def failed(
        self,
        sub: Subscription,
        owner: str,
        change: tuple[str, str],
        attempt: Attempt,
        now: float,
        schedule: Sequence[float],
    ) -> None:
        """Log the failure; retry after the schedule's next wait, or disable the
        subscription once the schedule is used up. The lease is released either way."""
        change_id, lead_id = change
        with self.engine.begin() as conn:
            row = conn.execute(select(s.c.failures).where(_held(sub.id, owner))).first()
            if row is None:
                return
            failures = int(row.failures) + 1
            values: dict[str, Any] = {
                "failures": failures,
                "lease_owner": None,
                "lease_until": None,
            }
            if failures > len(schedule):
                values |= {
                    "state": "disabled",
                    "disabled_at": now,
                    "disabled_reason": f"{failures} consecutive failed attempts on change "
                    f"{change_id}; last error: {attempt.error}",
                }
            else:
                values["next_attempt_at"] = now + schedule[failures - 1]
            conn.execute(update(s).where(s.c.id == sub.id).values(**values))
            conn.execute(
                insert(d).values(**_log(sub.id, change_id, lead_id, attempt, failures, now))
            )


def _due(now: float, heads: Mapping[str, int]) -> Any:
    """Active, its retry wait over, leased by nobody (or the lease expired), and behind its
    workspace's feed. None when no workspace has a change yet."""
    if not heads:
        return None
    behind = or_(
        *(
            and_(
                s.c.workspace == workspace,
                or_(
                    s.c.cursor_position < head,
                    and_(s.c.cursor_position == head, s.c.cursor_seq < WHOLE_POSITION),
                ),
            )
            for workspace, head in heads.items()
        )
    )
    return and_(
        s.c.state == "active",
        or_(s.c.next_attempt_at.is_(None), s.c.next_attempt_at <= now),
        or_(s.c.lease_until.is_(None), s.c.lease_until < now),
        behind,
    )


def _held(sub_id: str, owner: str) -> Any:
    return and_(s.c.id == sub_id, s.c.lease_owner == owner, s.c.state == "active")


def _log(
    sub_id: str, change_id: str, lead_id: str, attempt: Attempt, attempt_no: int, now: float
) -> dict[str, Any]:
    return {
        "subscription_id": sub_id,
        "change_id": change_id,
        "lead_id": lead_id,
        "attempt": attempt_no,
        "outcome": "delivered" if attempt.ok else "failed",
        "http_status": attempt.http_status,
        "latency_ms": round(attempt.latency_ms, 1),
        "error": attempt.error,
        "at": now,
    }
