"""A signed delivery the ledger could not translate (e.g. an event type it does not know).

Kept raw, so nothing a source said is lost: it is listed by the API and can be
re-ingested once the translator learns it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.identity import unhandled_delivery_id_for


class UnhandledDelivery(Aggregate):
    # The stored shapes, versioned (docs/evolution.md).
    class Kept(Aggregate.Created):
        class_version = 1
        workspace: str
        key: str
        channel: str
        event_type: str | None
        reason: str
        headers: dict[str, str]
        body: str
        received_at: datetime

    class Reingested(Aggregate.Event):
        class_version = 1
        actor: str
        facts: list[dict[str, Any]]
        at: datetime

    @staticmethod
    def create_id(workspace: str, key: str) -> UUID:
        return unhandled_delivery_id_for(workspace, key)

    @event(Kept)
    def __init__(
        self,
        workspace: str,
        key: str,
        channel: str,
        event_type: str | None,
        reason: str,
        headers: dict[str, str],
        body: str,
        received_at: datetime,
    ) -> None:
        self.workspace = workspace
        self.reingested = False

    @event(Reingested)
    def mark_reingested(self, actor: str, facts: list[dict[str, Any]], at: datetime) -> None:
        self.reingested = True
