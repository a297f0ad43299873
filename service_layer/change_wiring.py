"""The change feed's parts, wired once for the application service (docs/changes.md)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config.change_settings import ChangeSettings, load_change_settings
from adapters.keys.keyring import Keyring
from adapters.outbound.secret_box import SecretBox
from adapters.outbound.subscription_leases import SubscriptionLeases
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


def wire_changes(engines: Engines, views: LiveViews, keyring: Keyring) -> ChangeParts:
    """`keyring`: the master keys that wrap the lead keys also wrap the signing secrets."""
    settings = load_change_settings()
    feed = ChangeFeed(engines, views)
    guard = URLGuard(settings.webhook_allowed_hosts)
    box = SecretBox(keyring)
    store = SubscriptionStore(engines.write, engines.read)
    leases = SubscriptionLeases(engines.write, engines.read)
    return ChangeParts(
        settings,
        feed,
        Subscriptions(store, guard, engines, box),
        WebhookDispatcher(leases, feed, settings, guard, box),
    )
