"""The composition root: settings → workspaces, event store, ledger."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config.settings import Settings
from adapters.config.workspaces import Workspaces, load_workspaces
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.startup_lock import startup_lock
from adapters.eventstore.store import LedgerStore, open_store
from domain.policy import DEFAULT_POLICY_TOML, load_policy
from projections.catchup import LiveViews
from projections.database import Engines, make_engines
from projections.live import LiveFollower
from service_layer.ledger import Ledger


@dataclass
class Services:
    settings: Settings
    workspaces: Workspaces
    database: DatabaseURL
    store: LedgerStore
    ledger: Ledger
    engines: Engines
    views: LiveViews
    follower: LiveFollower

    def committed(self, notification_id: int | None) -> None:
        """A write landed: wake the follower so the views show it within milliseconds."""
        if notification_id is not None:
            self.follower.notify()

    def close(self) -> None:
        self.ledger.close()  # write what is queued before the store goes
        self.follower.stop()
        self.engines.dispose()
        self.store.close()


def bootstrap(settings: Settings | None = None) -> Services:
    settings = settings or Settings()
    database = DatabaseURL.parse(settings.database_url)
    with startup_lock(database):
        store = open_store(database)
        engines = make_engines(database, settings.views_database_url)
        views = LiveViews(engines, store, initial_policy_text(settings))
    channel = getattr(store.recorder, "channel_name", None)
    return Services(
        settings=settings,
        workspaces=load_workspaces(settings),
        database=database,
        store=store,
        ledger=Ledger(store),
        engines=engines,
        views=views,
        follower=LiveFollower(views, database, settings.poll_interval, channel),
    )


def initial_policy_text(settings: Settings) -> str:
    """The policy a brand-new projection starts with; later changes go through a rebuild."""
    if settings.policy_file is not None:
        text = settings.policy_file.read_text(encoding="utf-8")
        load_policy(text)  # fail fast on a bad file
        return text
    return DEFAULT_POLICY_TOML
