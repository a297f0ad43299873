"""`leadledger deliveries reingest`: translate kept raw deliveries again with today's
translators. What translates now is recorded through the usual ingest path (dedup by
message ids and fact keys, so it is recorded once however often this runs); parts that
still do not translate are kept raw on their own; the old delivery gets a `Reingested`
event (a fact: it stays, listed as re-ingested)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.config.workspaces import Workspaces
from adapters.eventstore.store import LedgerStore
from adapters.webhooks.kapso import translate_kapso
from adapters.webhooks.meta import translate_meta
from adapters.webhooks.translation import TranslatedItem
from domain.delivery import UnhandledDelivery
from service_layer.errors import SignatureWorkspaceMismatchError, UnknownPhoneNumberIdError
from service_layer.ingest import Delivery, ingest, raw_delivery
from service_layer.ledger import Ledger
from service_layer.single_writes import MarkReingestedRequest

KEPT_TOPIC = f"{UnhandledDelivery.__module__}:{UnhandledDelivery.__qualname__}.Kept"
REINGESTED_TOPIC = f"{UnhandledDelivery.__module__}:{UnhandledDelivery.__qualname__}.Reingested"
PAGE = 500


@dataclass
class ReingestReport:
    reingested: int = 0  # deliveries marked re-ingested by this run
    appended: int = 0  # facts new to the ledger
    still_unhandled: int = 0  # deliveries today's translators cannot translate either
    skipped: int = 0  # already re-ingested, erased, or routed elsewhere now
    problems: list[str] = field(default_factory=list)


def kept_deliveries(store: LedgerStore, workspace: str | None) -> Iterator[Any]:
    """Every `UnhandledDelivery.Kept` event (of one workspace, or all), oldest first."""
    return _events(store, KEPT_TOPIC, workspace)


def reingested_ids(store: LedgerStore) -> set[Any]:
    """The ids of the kept deliveries that were re-ingested."""
    return {event.originator_id for event in _events(store, REINGESTED_TOPIC, None)}


def _events(store: LedgerStore, topic: str, workspace: str | None) -> Iterator[Any]:
    start = 1
    while True:
        page = store.recorder.select_notifications(start=start, limit=PAGE, topics=[topic])
        for notification in page:
            event = store.mapper.to_domain_event(notification)
            if workspace is None or getattr(event, "workspace", None) == workspace:
                yield event
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def reingest(
    ledger: Ledger, workspaces: Workspaces, workspace: str | None, actor: str
) -> ReingestReport:
    report = ReingestReport()
    for kept in list(kept_deliveries(ledger.store, workspace)):
        delivery: object = ledger.store.repository.get(kept.originator_id)
        if not isinstance(delivery, UnhandledDelivery) or delivery.reingested or kept.body is None:
            report.skipped += 1  # done already, or erased (its body is shredded)
            continue
        items = _translate(kept, workspaces.default_region)
        if _unchanged(kept, items):
            report.still_unhandled += 1
            continue
        again = Delivery(kept.channel, items, {kept.workspace}, kept.headers, kept.received_at)
        try:
            ingested = ingest(ledger, workspaces, again)
        except (SignatureWorkspaceMismatchError, UnknownPhoneNumberIdError) as exc:
            report.skipped += 1  # its number belongs to another workspace now: leave it
            report.problems.append(f"{kept.originator_id}: {exc!r}")
            continue
        facts = [
            {"lead_id": str(f.lead_id), "fact": f.fact, "appended": f.appended}
            for f in ingested.facts
        ]
        ledger.mark_reingested(
            MarkReingestedRequest(kept.originator_id, actor, facts, datetime.now(UTC))
        )
        report.reingested += 1
        report.appended += sum(f.appended for f in ingested.facts)
    return report


def _translate(kept: Any, region: str) -> list[TranslatedItem]:
    body = json.loads(kept.body)
    if kept.channel == "meta":
        if isinstance(body, dict) and "object" not in body and "field" in body:
            # Kept before parts were translated one by one: a bare change, no envelope.
            body = {"object": "whatsapp_business_account", "entry": [{"changes": [body]}]}
        return translate_meta(body, kept.received_at, region)
    headers: dict[str, str] = kept.headers or {}
    return translate_kapso(
        body,
        kept.event_type,
        False,  # a kept Kapso part is one event, never a batch
        headers.get("x-idempotency-key"),
        kept.received_at,
        region,
    )


def _unchanged(kept: Any, items: list[TranslatedItem]) -> bool:
    """Today's translators keep it raw exactly as it is: nothing to do."""
    if len(items) != 1 or not items[0].unhandled_reason:
        return False
    probe = Delivery(kept.channel, items, {kept.workspace}, {}, kept.received_at)
    same: bool = raw_delivery(kept.workspace, probe, items[0]).id == kept.originator_id
    return same
