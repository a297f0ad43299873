"""Webhook ingestion, HTTP-free: route translated items to workspaces and record them."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from contextlib import suppress
from datetime import datetime

from eventsourcing.persistence import IntegrityError

from adapters.webhooks.translation import TranslatedItem
from api.http.errors import ApiError, unauthorized
from api.http.schemas import AcceptedOut, FactOut
from domain.commands import LeadCommand
from domain.delivery import UnhandledDelivery
from service_layer.bootstrap import Services


def ingest(
    services: Services,
    channel: str,
    items: list[TranslatedItem],
    signed_for: set[str],
    headers: dict[str, str],
    received_at: datetime,
) -> AcceptedOut:
    """Record every item; answer only after the commit. Same answer on every retry."""
    by_workspace: dict[str, list[LeadCommand]] = defaultdict(list)
    unhandled: list[tuple[str, TranslatedItem]] = []
    for item in items:
        workspace = _workspace_for(services, item, signed_for)
        # An item may carry both: translated commands and a part kept raw.
        if item.unhandled_reason:
            unhandled.append((workspace, item))
        by_workspace[workspace].extend(item.commands)
    for workspace, item in unhandled:
        _keep_raw(services, workspace, channel, item, headers, received_at)
    facts: list[FactOut] = []
    for workspace, commands in by_workspace.items():
        recording = services.ledger.record(workspace, commands)
        services.committed(recording.last_notification_id)
        facts += [FactOut(lead_id=f.lead_id, fact=f.fact) for f in recording.facts]
    return AcceptedOut(facts=facts, kept_unhandled=len(unhandled))


def _workspace_for(services: Services, item: TranslatedItem, signed_for: set[str]) -> str:
    mapped = services.workspaces.for_phone_number_id(item.phone_number_id)
    if mapped is None and len(signed_for) == 1:
        # Unknown number, but only one workspace's secret signed it: that workspace.
        mapped = next(iter(signed_for))
    if mapped is None:
        raise ApiError(
            422,
            "unknown_phone_number_id",
            f"phone_number_id {item.phone_number_id!r} belongs to no workspace",
            "phone_number_id",
        )
    if mapped not in signed_for:
        raise unauthorized("signature does not match this number's workspace")
    return mapped


def _keep_raw(
    services: Services,
    workspace: str,
    channel: str,
    item: TranslatedItem,
    headers: dict[str, str],
    received_at: datetime,
) -> None:
    # The content hash is the identity, so a retried or re-batched delivery adds nothing.
    body = json.dumps(item.raw, sort_keys=True, ensure_ascii=False)
    key = f"{channel}:{hashlib.sha256(body.encode()).hexdigest()}"
    delivery = UnhandledDelivery(
        workspace=workspace,
        key=key,
        channel=channel,
        event_type=item.event_type,
        reason=item.unhandled_reason or "untranslatable",
        headers=headers,
        body=body,
        received_at=received_at,
    )
    with suppress(IntegrityError):  # kept by an earlier delivery already: nothing to add
        services.store.save(delivery)
