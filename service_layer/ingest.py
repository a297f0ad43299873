"""Webhook ingestion: route a verified delivery's translated items to their workspaces,
record the commands, keep the untranslatable parts raw. Transport-free."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from adapters.config.workspaces import Workspaces
from adapters.webhooks.translation import TranslatedItem
from domain.commands import LeadCommand
from domain.delivery import UnhandledDelivery
from service_layer.errors import SignatureWorkspaceMismatchError, UnknownPhoneNumberIdError
from service_layer.ledger import Ledger, RecordedFact


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery whose signature matched the secrets of `signed_for`."""

    channel: str  # "kapso" | "meta"
    items: list[TranslatedItem]
    signed_for: set[str]
    headers: dict[str, str]  # the ones worth keeping with a raw delivery
    received_at: datetime


@dataclass(frozen=True)
class Ingested:
    facts: list[RecordedFact]
    kept_unhandled: int


def ingest(ledger: Ledger, workspaces: Workspaces, delivery: Delivery) -> Ingested:
    """Record every item; return only after the commit. Same answer on every retry.
    Every item's workspace is checked before anything is written."""
    by_workspace: dict[str, list[LeadCommand]] = defaultdict(list)
    unhandled: list[tuple[str, TranslatedItem]] = []
    for item in delivery.items:
        workspace = _workspace_for(workspaces, item, delivery.signed_for)
        # An item may carry both: translated commands and a part kept raw.
        if item.unhandled_reason:
            unhandled.append((workspace, item))
        by_workspace[workspace].extend(item.commands)
    for workspace, item in unhandled:
        ledger.keep_unhandled(_raw(workspace, delivery, item))
    facts: list[RecordedFact] = []
    for workspace, commands in by_workspace.items():
        facts += ledger.record(workspace, commands).facts
    return Ingested(facts, len(unhandled))


def _workspace_for(workspaces: Workspaces, item: TranslatedItem, signed_for: set[str]) -> str:
    mapped = workspaces.for_phone_number_id(item.phone_number_id)
    if mapped is None and len(signed_for) == 1:
        # Unknown number, but only one workspace's secret signed it: that workspace.
        mapped = next(iter(signed_for))
    if mapped is None:
        raise UnknownPhoneNumberIdError(item.phone_number_id)
    if mapped not in signed_for:
        raise SignatureWorkspaceMismatchError
    return mapped


def _raw(workspace: str, delivery: Delivery, item: TranslatedItem) -> UnhandledDelivery:
    # The content hash is the identity, so a retried or re-batched delivery adds nothing.
    body = json.dumps(item.raw, sort_keys=True, ensure_ascii=False)
    key = f"{delivery.channel}:{hashlib.sha256(body.encode()).hexdigest()}"
    return UnhandledDelivery(
        workspace=workspace,
        key=key,
        channel=delivery.channel,
        event_type=item.event_type,
        reason=item.unhandled_reason or "untranslatable",
        headers=delivery.headers,
        body=body,
        received_at=delivery.received_at,
    )
