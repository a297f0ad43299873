"""The background follower that keeps views live in a server process.

Woken at once by this process's own commits, by PostgreSQL NOTIFY for other processes'
commits (eventsourcing's recorder notifies on every insert), and otherwise polls: that
works on SQLite, which has no subscription, and across processes on either store.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from adapters.eventstore.database_url import DatabaseURL
from projections.catchup import LiveViews

log = logging.getLogger("leadledger.projections")


class LiveFollower:
    def __init__(
        self,
        views: LiveViews,
        database: DatabaseURL,
        poll_interval: float = 0.5,
        channel: str | None = None,
    ) -> None:
        self.views = views
        self.database = database
        self.poll_interval = poll_interval
        self.channel = channel
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = 0

    def start(self) -> None:
        self._threads.append(
            threading.Thread(target=self._follow, name="views-follower", daemon=True)
        )
        if self.database.kind == "postgres" and self.channel:
            self._threads.append(
                threading.Thread(target=self._listen, name="views-listen", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            try:
                self.views.catch_up()
            except Exception:  # keep following: logged and counted, retried next wake
                self.errors += 1
                log.exception("catching up the views failed; retrying")
                self._drop_connections()
                self._stop.wait(min(5.0, self.poll_interval * 2))

    def _drop_connections(self) -> None:
        """Retry on new connections: a SQLite connection opened while the file was
        read-only stays read-only after it is writable again, and one cut by PostgreSQL
        is dead; pooled ones would fail every catch-up until a restart."""
        try:
            self.views.engines.write.dispose()
        except Exception:
            log.exception("disposing the views' connections failed")

    def _listen(self) -> None:
        db = self.database
        while not self._stop.is_set():
            try:
                with db.connect_postgres() as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.2, stop_after=1):
                            self._wake.set()
            except psycopg.Error:
                log.warning("LISTEN connection lost; polling until it is back")
                self._stop.wait(2.0)
