"""The change feed's parts, wired once for the application service (docs/changes.md)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config.change_settings import ChangeSettings, load_change_settings
from adapters.outbound.subscription_store import SubscriptionStore
from adapters.outbound.url_guard import URLGuard
from projections.catchup import LiveViews
from projections.database import Engines
from service_layer.change_feed import ChangeFeed
from service_layer.subscriptions import Subscriptions
from service_layer.webhook_dispatcher import WebhookDispatcher


@dataclass(frozen=True)
class ChangeParts:
    settings: ChangeSettings
    feed: ChangeFeed
    subscriptions: Subscriptions
    dispatcher: WebhookDispatcher


def wire_changes(engines: Engines, views: LiveViews) -> ChangeParts:
    settings = load_change_settings()
    feed = ChangeFeed(engines, views)
    guard = URLGuard(settings.webhook_allowed_hosts)
    store = SubscriptionStore(engines.write, engines.read)
    return ChangeParts(
        settings,
        feed,
        Subscriptions(store, guard, engines),
        WebhookDispatcher(store, feed, settings, guard),
    )
