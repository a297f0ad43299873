"""The application service's read-model operations: status and lag, catch-up, rebuild under
a policy, verify, and the live follower's error count (`leadledger projections …`, /readyz).
The HTTP API and the CLI call these, never the projections directly."""

from __future__ import annotations

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import LedgerStore
from adapters.keys.master_key_source import MasterKeySource
from projections.catchup import LiveViews, Status
from projections.database import Engines
from projections.live import LiveFollower
from projections.rebuild import Progress, RebuildResult, rebuild
from projections.rebuild_worker import Sources
from projections.state import read_state
from projections.verify import VerifyResult, verify


class ViewOperations:
    settings: Settings
    _views: LiveViews
    _engines: Engines
    _store: LedgerStore
    _follower: LiveFollower

    def views_status(self) -> Status:
        return self._views.status()

    def catch_up_views(self) -> int:
        return self._views.catch_up()

    def active_policy_text(self) -> str:
        with self._engines.read.connect() as conn:
            return read_state(conn).active_policy

    def rebuild_views(
        self, policy_text: str, progress: Progress | None, page_size: int, workers: int = 1
    ) -> RebuildResult:
        """`workers` > 1: fold a large ledger on that many processes (lead-id hash)."""
        database = DatabaseURL.parse(self.settings.database_url)
        sources = None
        if database.kind != "memory":  # an in-memory ledger cannot be opened elsewhere
            master = MasterKeySource.for_settings(self.settings, database)
            sources = Sources(database, self.settings.views_database_url, master)
        return rebuild(
            self._engines.write, self._store, policy_text, progress, page_size, workers, sources
        )

    def verify_views(self, progress: Progress | None, page_size: int) -> VerifyResult:
        return verify(self._engines.write, self._store, progress, page_size)

    def follower_errors(self) -> int:
        return self._follower.errors
