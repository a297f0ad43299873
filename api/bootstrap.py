"""The composition root: settings → workspaces, event store, ledger."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.database_url import DatabaseURL
from adapters.ledger import Ledger
from adapters.settings import Settings
from adapters.store import LedgerStore, open_store
from adapters.workspaces import Workspaces, load_workspaces


@dataclass
class Services:
    settings: Settings
    workspaces: Workspaces
    database: DatabaseURL
    store: LedgerStore
    ledger: Ledger

    def close(self) -> None:
        self.store.close()


def bootstrap(settings: Settings | None = None) -> Services:
    settings = settings or Settings()
    database = DatabaseURL.parse(settings.database_url)
    store = open_store(database)
    return Services(
        settings=settings,
        workspaces=load_workspaces(settings),
        database=database,
        store=store,
        ledger=Ledger(store),
    )
