"""Webhook ingestion: route a verified delivery's parts to their workspaces, record the
commands of those that translated, keep the others raw with their reason. Transport-free.

A signed delivery is never refused for one bad part (docs/webhooks.md): each part is
recorded or kept on its own, and the answer says which, per part.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from adapters.config.workspaces import Workspaces
from adapters.webhooks.translation import TranslatedItem
from domain.commands import LeadCommand
from domain.delivery import UnhandledDelivery
from service_layer.errors import SignatureWorkspaceMismatchError, UnknownPhoneNumberIdError
from service_layer.identity_linking import LinkedPart, linked_part
from service_layer.ledger import Ledger, RecordedFact

Outcome = Literal["recorded", "kept_unhandled", "empty"]


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery whose signature matched the secrets of `signed_for`."""

    channel: str  # "kapso" | "meta"
    items: list[TranslatedItem]
    signed_for: set[str]
    headers: dict[str, str]  # the ones worth keeping with a raw delivery
    received_at: datetime
    # The delivery's identity for a retry of the same bytes (channel and body digest):
    # joins the write still in progress (service_layer/inflight.py). None: no joining.
    key: str | None = None


@dataclass(frozen=True)
class PartOutcome:
    """What became of one part: `recorded` (its facts are in the ledger, appended now or
    by an earlier delivery: a retry gets the same answer), `kept_unhandled` (kept raw,
    `reason` says why) or `empty` (nothing to record, e.g. a contact without a name)."""

    part: str
    kind: str | None
    outcome: Outcome
    facts: list[RecordedFact] = field(default_factory=list)
    reason: str | None = None


@dataclass(frozen=True)
class Ingested:
    facts: list[RecordedFact]
    kept_unhandled: int
    parts: list[PartOutcome] = field(default_factory=list)


def ingest(ledger: Ledger, workspaces: Workspaces, delivery: Delivery) -> Ingested:
    """Record every part; return only after the commit. Same answer on every retry.
    Every part's workspace is checked before anything is written."""
    routed = [
        (_workspace_for(workspaces, item, delivery.signed_for), item) for item in delivery.items
    ]
    for workspace, item in routed:
        if item.unhandled_reason:
            ledger.keep_unhandled(raw_delivery(workspace, delivery, item))
    by_workspace: dict[str, list[LeadCommand]] = defaultdict(list)
    linked: list[LinkedPart | None] = []
    for workspace, item in routed:
        part = None if item.unhandled_reason else linked_part(ledger.store, workspace, item)
        linked.append(part)
        if part is not None:
            by_workspace[workspace] += [*part.links, *part.commands]
    # One request per workspace: its facts come back in command order.
    recorded = {ws: iter(ledger.record(ws, cmds).facts) for ws, cmds in by_workspace.items()}
    facts: list[RecordedFact] = []
    parts: list[PartOutcome] = []
    for (workspace, item), part in zip(routed, linked, strict=True):
        if part is None:
            parts.append(
                PartOutcome(item.part, item.kind, "kept_unhandled", reason=item.unhandled_reason)
            )
            continue
        for _ in part.links:  # recorded with the part, reported by none (module docstring)
            next(recorded[workspace])
        mine = [next(recorded[workspace]) for _ in part.commands]
        facts += mine
        parts.append(PartOutcome(item.part, item.kind, "recorded" if mine else "empty", mine))
    kept = sum(p.outcome == "kept_unhandled" for p in parts)
    return Ingested(facts, kept, parts)


def _workspace_for(workspaces: Workspaces, item: TranslatedItem, signed_for: set[str]) -> str:
    mapped = workspaces.for_phone_number_id(item.phone_number_id)
    if mapped is None and len(signed_for) == 1:
        # Unknown number, but only one workspace's secret signed it: that workspace.
        mapped = next(iter(signed_for))
    if mapped is None:
        # Signed by several workspaces' shared secret, for a number none of them has:
        # keeping it raw in one of them would be a guess, in all of them a leak.
        raise UnknownPhoneNumberIdError(item.phone_number_id)
    if mapped not in signed_for:
        raise SignatureWorkspaceMismatchError
    return mapped


def raw_delivery(workspace: str, delivery: Delivery, item: TranslatedItem) -> UnhandledDelivery:
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


__all__ = ["Delivery", "Ingested", "PartOutcome", "RecordedFact", "ingest", "raw_delivery"]
