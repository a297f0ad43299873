"""Outbound webhook subscriptions as the API and CLI use them: make one (its signing secret
shown once), list, delete, read its delivery log, replay from a cursor (docs/changes.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from adapters.outbound.secret_box import SecretBox
from adapters.outbound.signing import new_secret
from adapters.outbound.subscription_store import Subscription, SubscriptionStore
from adapters.outbound.url_guard import RefusedURLError, URLGuard
from domain.reducer.changes import VOCABULARY
from projections import queries
from projections.database import Engines
from projections.feed_rows import Cursor
from projections.tables import ViewTables

__all__ = ["BadSubscriptionError", "RefusedURLError", "SubscriptionNotFoundError", "Subscriptions"]


class SubscriptionNotFoundError(LookupError):
    """No such subscription in this workspace."""


class BadSubscriptionError(ValueError):
    """A subscription request that names unknown types or a bad cursor."""


@dataclass(frozen=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # shown once: the API answers it at creation only


class Subscriptions:
    def __init__(
        self, store: SubscriptionStore, guard: URLGuard, engines: Engines, secrets: SecretBox
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._guard = guard
        self._engines = engines

    def create(
        self,
        workspace: str,
        url: str,
        types: Sequence[str],
        lead_id: str | None,
        after: str | None,
    ) -> NewSubscription:
        """Refuses (RefusedURLError) a receiver on a loopback, private, link-local or
        metadata address unless allowed. Without `after`, delivery starts with the next
        change (the feed's end now); `after="0"` sends the whole history."""
        unknown = sorted(set(types) - set(VOCABULARY))
        if unknown:
            raise BadSubscriptionError(f"unknown change types: {', '.join(unknown)}")
        cursor = self._start(workspace, after)
        self._guard.check(url)
        secret = new_secret()
        sub = Subscription(
            id=str(uuid.uuid4()),
            workspace=workspace,
            url=url,
            types=tuple(dict.fromkeys(types)),
            lead_id=lead_id,
            secret=self._secrets.seal(secret),  # stored wrapped: shown once, in clear
            created_at=time.time(),
            cursor_position=cursor.position,
            cursor_seq=cursor.seq,
            state="active",
            failures=0,
            next_attempt_at=None,
            disabled_reason=None,
            disabled_at=None,
        )
        self._store.add(sub)
        return NewSubscription(sub, secret)

    def of_workspace(self, workspace: str) -> list[Subscription]:
        return self._store.of_workspace(workspace)

    def get(self, workspace: str, sub_id: str) -> Subscription:
        found = self._store.get(workspace, sub_id)
        if found is None:
            raise SubscriptionNotFoundError(sub_id)
        return found

    def delete(self, workspace: str, sub_id: str) -> None:
        if not self._store.remove(workspace, sub_id):
            raise SubscriptionNotFoundError(sub_id)

    def deliveries(self, workspace: str, sub_id: str, limit: int) -> list[dict[str, Any]]:
        self.get(workspace, sub_id)
        return self._store.log(sub_id, limit)

    def replay(self, workspace: str, sub_id: str, after: str) -> Subscription:
        cursor = _cursor(after)
        if not self._store.replay(workspace, sub_id, cursor.position, cursor.seq):
            raise SubscriptionNotFoundError(sub_id)
        return self.get(workspace, sub_id)

    def _start(self, workspace: str, after: str | None) -> Cursor:
        if after is not None:
            return _cursor(after)

        def end(conn: Connection, tables: ViewTables) -> Cursor:
            c = tables.changes
            top = conn.execute(
                select(c.c.position, c.c.seq)
                .where(c.c.workspace == workspace)
                .order_by(c.c.position.desc(), c.c.seq.desc())
                .limit(1)
            ).first()
            return Cursor() if top is None else Cursor(top.position, top.seq)

        return queries.read_views(self._engines.read, end)


def _cursor(text: str) -> Cursor:
    try:
        return Cursor.parse(text)
    except ValueError as exc:
        raise BadSubscriptionError(f"after: {exc}") from None
