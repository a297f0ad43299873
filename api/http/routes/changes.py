"""The change feed, its stream and outbound webhook subscriptions (docs/changes.md)."""

from __future__ import annotations

from api.http.change_schemas import ChangesOut, ChangesParams
from api.http.endpoint import Endpoint, Param
from api.http.handlers import changes, subscriptions
from api.http.routes.params import query_params
from api.http.subscription_schemas import (
    DeletedOut,
    DeliveriesOut,
    ReplayIn,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionsOut,
)
from domain.principal import Permission

SUBSCRIPTION_ID = Param("subscription_id", "path", "The subscription's id", True)

CHANGES: list[Endpoint] = [
    Endpoint(
        "GET",
        "/changes",
        changes.list_changes,
        "The workspace's changes in ledger order, after a cursor",
        "changes",
        "bearer",
        permission=Permission.READ,
        response=ChangesOut,
        errors=(401, 422),
        params=query_params(ChangesParams),
        description="Each change's `id` is its cursor; pass the last one back as `after`.",
    ),
    Endpoint(
        "GET",
        "/changes/stream",
        changes.stream_changes,
        "The same changes as Server-Sent Events, live",
        "changes",
        "bearer",
        permission=Permission.READ,
        response_media="text/event-stream",
        errors=(401, 422),
        params=query_params(ChangesParams),
        description="`id:` is the change id; reconnect with `Last-Event-ID` to resume with "
        "no gap and no repeat. Comment lines are heartbeats.",
    ),
]

SUBSCRIPTIONS: list[Endpoint] = [
    Endpoint(
        "POST",
        "/subscriptions",
        subscriptions.create_subscription,
        "Subscribe a receiver URL to the changes (signed outbound webhooks)",
        "webhooks",
        "bearer",
        permission=Permission.KEYS,
        request=SubscriptionIn,
        response=SubscriptionOut,
        errors=(400, 401, 413, 422),
        description="Answers with the signing secret, shown this once. A URL resolving "
        "to a loopback, private, link-local or metadata address is refused (422) unless "
        "the operator allows it.",
    ),
    Endpoint(
        "GET",
        "/subscriptions",
        subscriptions.list_subscriptions,
        "The workspace's subscriptions",
        "webhooks",
        "bearer",
        permission=Permission.READ,
        response=SubscriptionsOut,
        errors=(401,),
    ),
    Endpoint(
        "GET",
        "/subscriptions/{subscription_id}",
        subscriptions.get_subscription,
        "A subscription: cursor, state, failures, why it was disabled",
        "webhooks",
        "bearer",
        permission=Permission.READ,
        response=SubscriptionOut,
        errors=(401, 404),
        params=(SUBSCRIPTION_ID,),
    ),
    Endpoint(
        "DELETE",
        "/subscriptions/{subscription_id}",
        subscriptions.delete_subscription,
        "Delete a subscription and its delivery log",
        "webhooks",
        "bearer",
        permission=Permission.KEYS,
        response=DeletedOut,
        errors=(401, 404),
        params=(SUBSCRIPTION_ID,),
    ),
    Endpoint(
        "GET",
        "/subscriptions/{subscription_id}/deliveries",
        subscriptions.subscription_deliveries,
        "The delivery log: every attempt, newest first",
        "webhooks",
        "bearer",
        permission=Permission.READ,
        response=DeliveriesOut,
        errors=(401, 404),
        params=(SUBSCRIPTION_ID,),
    ),
    Endpoint(
        "POST",
        "/subscriptions/{subscription_id}/replay",
        subscriptions.replay_subscription,
        "Deliver again from a cursor (also re-enables a disabled subscription)",
        "webhooks",
        "bearer",
        permission=Permission.KEYS,
        request=ReplayIn,
        response=SubscriptionOut,
        errors=(400, 401, 404, 413, 422),
        params=(SUBSCRIPTION_ID,),
    ),
]
