"""The composition root: settings → workspaces, event store, ledger, views, and the
application service built on them (service_layer/service.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from adapters.config.loading import load_settings
from adapters.config.policy_file import read_policy_file
from adapters.config.settings import Settings
from adapters.config.workspaces import Workspaces, load_workspaces
from adapters.eventstore import preflight, server_lock
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.startup_lock import startup_lock
from adapters.eventstore.store import LedgerStore, open_store
from adapters.keys.master_key_source import MasterKeySource
from adapters.outbound.secret_box import SecretBox, wrap_stored
from adapters.outbound.subscription_store import create_tables as create_subscription_tables
from adapters.principals.key_table import KeyTable
from domain.policy import DEFAULT_POLICY_TOML
from projections.catchup import LiveViews
from projections.database import Engines, make_engines
from projections.inline import InlineViews
from projections.live import LiveFollower
from service_layer.key_ring import KeyRing
from service_layer.ledger import Ledger, Recording
from service_layer.live_config import LiveWorkspaces
from service_layer.service import LeadLedgerService


@dataclass
class Services:
    """Everything bootstrap wired, for the entrypoints' `service` and for tests and tools
    that need a part (a store, the views)."""

    service: LeadLedgerService
    settings: Settings
    workspaces: Workspaces
    database: DatabaseURL
    store: LedgerStore
    ledger: Ledger
    engines: Engines
    views: LiveViews
    follower: LiveFollower
    inline: InlineViews

    def close(self) -> None:
        self.service.close()


def bootstrap(settings: Settings | None = None, create_ledger: bool = True) -> Services:
    """Wire everything. `create_ledger=False` (CLI commands) refuses, creating nothing, when
    the configured place holds no ledger: a command run from the wrong directory must say
    so, not start an empty ledger there."""
    settings = settings or load_settings()
    database = DatabaseURL.parse(settings.database_url)
    preflight.check_database(database, ledger_must_exist=not create_ledger)
    with startup_lock(database):
        store = open_store(database, MasterKeySource.for_settings(settings, database))
        engines = make_engines(database, settings.views_database_url)
        views = LiveViews(
            engines,
            store,
            initial_policy_text(settings),
            partitions=settings.projection_partitions,
        )
        create_subscription_tables(engines.write)  # outbound webhooks (docs/changes.md)
        wrap_signing_secrets(store, engines)
        key_table = KeyTable.open(database)
    channel = getattr(store.recorder, "channel_name", None)
    workspaces = load_workspaces(settings)
    ledger = Ledger(store)
    live_workspaces = LiveWorkspaces(settings, workspaces)
    follower = LiveFollower(views, database, settings.poll_interval, channel)
    # The views take each append as the writer commits it, and its callers are answered
    # once they did (projections/inline.py); the follower stays for other processes'
    # writes and whatever the inline pass left.
    inline = InlineViews(views)
    store.committed.append(inline.committed)
    views.ceiling = inline.in_flight_after
    ledger.listeners.append(lambda recording: inline.settled(recording.last_notification_id))
    ledger.listeners.append(wake_views(follower, inline))
    ledger.on_close.append(inline.close)
    return Services(
        service=LeadLedgerService(
            settings,
            live_workspaces,
            ledger,
            views,
            engines,
            follower,
            database.kind,
            KeyRing(live_workspaces.current, key_table),
        ),
        settings=settings,
        workspaces=workspaces,
        database=database,
        store=store,
        ledger=ledger,
        engines=engines,
        views=views,
        follower=follower,
        inline=inline,
    )


def wrap_signing_secrets(store: LedgerStore, engines: Engines) -> None:
    """The webhook signing secrets, wrapped under the master key like the lead keys: the
    plain ones of an older version now, and again by every master key rotation."""
    box = SecretBox(store.keys.keyring)
    wrap_stored(engines.write, box, reader=engines.read)
    store.keys.also_rewrap.append(lambda master: wrap_stored(engines.write, box, master))


def wake_views(follower: LiveFollower, inline: InlineViews) -> Callable[[Recording], None]:
    """The ledger's listener: a write landed that the inline pass did not project, so wake
    the follower and the views show it within milliseconds (without waiting for a NOTIFY
    or the poll)."""

    def committed(recording: Recording) -> None:
        last = recording.last_notification_id
        if last is not None and not inline.covers(last):
            follower.notify()

    return committed


def check_database(settings: Settings, ledger_must_exist: bool) -> None:
    """ConfigError (naming the database and the fix) unless it answers, before a command
    creates or prints anything (serve's first run prints a key shown once)."""
    preflight.check_database(DatabaseURL.parse(settings.database_url), ledger_must_exist)


def single_server(settings: Settings, workers: int) -> AbstractContextManager[None]:
    """Held for a server's lifetime: a SQLite ledger takes one server process."""
    return server_lock.single_server(DatabaseURL.parse(settings.database_url), workers)


def initial_policy_text(settings: Settings) -> str:
    """The policy a brand-new projection starts with; later changes go through a rebuild."""
    if settings.policy_file is not None:
        return read_policy_file(settings.policy_file)  # fail fast on a bad file
    return DEFAULT_POLICY_TOML
