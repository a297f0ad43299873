"""The application service: one method per intent, the only way in for the HTTP API and
the CLI. Writes go through the ledger's writer (one retry policy); the views are woken by
the ledger's listener (service_layer/bootstrap.py), never by the callers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection

from adapters.config.private_files import open_private
from adapters.config.settings import Settings
from adapters.config.workspaces import Workspaces
from adapters.eventstore.kept_deliveries import kept_page, reingested_among
from adapters.legacy_import.mapping import LegacyMapping
from adapters.legacy_import.readers import RawRow, read_file
from adapters.legacy_import.report import Summary
from domain.commands import LeadCommand, ReportSarahPhase
from domain.lead import Lead
from domain.principal import Principal
from domain.reducer import ContactView, LedgerEvent
from projections import queries
from projections.as_of import lead_as_of
from projections.catchup import LiveViews
from projections.cursors import lead_cursor
from projections.database import Engines
from projections.live import LiveFollower
from projections.source import head, lead_history
from projections.tables import ViewTables
from service_layer.api_keys import ApiKeyMethods
from service_layer.change_wiring import wire_changes
from service_layer.command_outcome import CommandOutcome, LeadCommandKind, command_outcome
from service_layer.delivery_intake import DeliveryIntake
from service_layer.erasure_operations import (
    ERASURE_SETTLE_SECONDS,
    ErasureOperations,
    SettledErasure,
)
from service_layer.errors import LeadNotFoundError, ViewLaggingError
from service_layer.ingest import Delivery, Ingested, ingest
from service_layer.key_ring import KeyRing
from service_layer.lead_resolution import erased_lead_ids, resolve_lead_id
from service_layer.ledger import Ledger, Recording
from service_layer.legacy_import import LegacyImport
from service_layer.live_config import LiveWorkspaces
from service_layer.parallel_import import ImportJob, run_parallel
from service_layer.reingest import ReingestReport, reingest
from service_layer.view_operations import ViewOperations

__all__ = ["LeadLedgerService", "LeadRead", "Recording", "SettledErasure"]

T = TypeVar("T")
LeadRead = Callable[[Connection, ViewTables, ContactView], T]
BuildCommand = Callable[[str], LeadCommand]  # the lead's phone -> the command


class LeadLedgerService(ApiKeyMethods, ViewOperations, ErasureOperations):
    def __init__(
        self,
        settings: Settings,
        workspaces: LiveWorkspaces,
        ledger: Ledger,
        views: LiveViews,
        engines: Engines,
        follower: LiveFollower,
        database_kind: str,
        keys: KeyRing,
    ) -> None:
        self.settings = settings
        self._workspaces = workspaces
        self.database_kind = database_kind  # "memory" | "sqlite" | "postgres"
        self._ledger = ledger
        self._store = ledger.store
        self._views = views
        self._engines = engines
        self._follower = follower
        self._keys = keys
        self.erasure_settle_seconds = ERASURE_SETTLE_SECONDS
        self._intake = DeliveryIntake(ledger, workspaces.current)
        # The change feed, its streams and outbound webhooks (docs/changes.md).
        parts = wire_changes(engines, views, ledger.store.keys.keyring)
        self.change_settings, self.changes = parts.settings, parts.feed
        self.subscriptions, self._webhooks = parts.subscriptions, parts.dispatcher

    @property
    def workspaces(self) -> Workspaces:
        """The workspaces, as the config file says now (service_layer/live_config.py)."""
        return self._workspaces.current()

    # -- writes ---------------------------------------------------------------------------

    def ingest_delivery(self, delivery: Delivery) -> Ingested:
        return ingest(self._ledger, self.workspaces, delivery)

    def submit_delivery(self, delivery: Delivery) -> Future[Ingested]:
        """Record a webhook delivery on the ingest threads; the future outlives the caller's
        deadline, and a retry of the same bytes joins it (service_layer/delivery_intake.py)."""
        return self._intake.submit(delivery)

    def delivery_in_flight(self, key: str) -> Future[Ingested] | None:
        """A retry's shortcut: the recording of the same delivery, if it is being written."""
        return self._intake.find(key)

    def reingest_deliveries(self, workspace: str | None, actor: str) -> ReingestReport:
        """Translate kept raw deliveries again (service_layer/reingest.py)."""
        return reingest(self._ledger, self.workspaces, workspace, actor)

    def report_sarah_phase(self, workspace: str, command: ReportSarahPhase) -> Recording:
        return self._ledger.record(workspace, [command])

    def request_status(
        self, workspace: str, lead_id: UUID, build: BuildCommand, key: str | None
    ) -> CommandOutcome:
        return self._on_lead(workspace, lead_id, build, "status", key)

    def release_status(
        self, workspace: str, lead_id: UUID, build: BuildCommand, key: str | None
    ) -> CommandOutcome:
        return self._on_lead(workspace, lead_id, build, "release", key)

    def add_note(
        self, workspace: str, lead_id: UUID, build: BuildCommand, key: str | None
    ) -> CommandOutcome:
        return self._on_lead(workspace, lead_id, build, "note", key)

    def import_legacy(
        self,
        workspace: str,
        mapping: LegacyMapping,
        contacts: Iterable[RawRow],
        notes: Iterable[RawRow] = (),
        principal: Principal | None = None,
    ) -> Summary:
        region = self.workspaces.default_region
        job = LegacyImport(self._ledger, workspace, region, mapping, principal=principal)
        return job.run(contacts, notes)

    def import_legacy_files(
        self, job: ImportJob, workers: int, on_progress: Callable[[str, int], None]
    ) -> Summary:
        """`leadledger import`: in this process, or split between `workers` processes
        (each with its own store and ledger, service_layer/parallel_import.py)."""
        if workers > 1:
            return run_parallel(job, workers, on_progress)
        with open_private(job.rejects) as rejects_out:
            importer = job.importer(self._ledger, rejects_out, lambda n: on_progress("contacts", n))
            notes = read_file(job.notes, job.notes_format) if job.notes else iter(())
            return importer.run(
                read_file(job.contacts, job.contacts_format),
                _counting(notes, lambda: on_progress("notes", 1)),
            )

    # -- ledger reads ---------------------------------------------------------------------

    def get_lead(self, workspace: str, lead_id: UUID) -> Lead:
        return self._ledger.get_lead(workspace, lead_id)

    def lead_events(
        self, workspace: str, lead_id: UUID, after: int = 0, limit: int | None = None
    ) -> list[Any]:
        """The lead's stored events after position `after`, in order, at most `limit` (read
        from the store a page at a time; LeadNotFoundError: not in this workspace)."""
        self._ledger.get_lead(workspace, lead_id)
        return list(self._store.events.get(lead_id, gt=after or None, limit=limit))

    def lead_history(self, lead_id: UUID) -> Iterable[LedgerEvent]:
        return lead_history(self._store, lead_id)

    def current_lead_id(self, workspace: str, lead_key: str) -> UUID:
        """The lead holding the history of the person a phone (or `wa_user:<BSUID>`,
        `wa_username:@name`) names; an erased one is reachable by its id only."""
        return resolve_lead_id(self._store, workspace, lead_key)

    def erased_lead_ids(self, workspace: str, phone_e164: str) -> list[UUID]:
        return erased_lead_ids(self._store, workspace, phone_e164)

    def unhandled_deliveries(
        self, workspace: str, after: int, limit: int
    ) -> list[tuple[int, Any, bool]]:
        """A page of the workspace's kept raw deliveries after notification `after`, oldest
        first: (notification id, the `UnhandledDelivery.Kept` event, re-ingested?)."""
        page = kept_page(self._store, workspace, after, limit)
        done = reingested_among(self._store, (event.originator_id for _, event in page))
        return [(position, event, event.originator_id in done) for position, event in page]

    def ledger_head(self) -> int:
        return head(self._store)

    # -- view reads -----------------------------------------------------------------------

    def read_views(self, read: Callable[[Connection, ViewTables], T]) -> T:
        return queries.read_views(self._engines.read, read)

    def list_leads(
        self, workspace: str, query: queries.LeadQuery
    ) -> tuple[list[ContactView], str | None]:
        """A page of the workspace's leads, and the cursor of the next one (None: the end)."""
        views, key = self.read_views(lambda c, t: queries.list_leads(c, t, workspace, query))
        cursor = None if key is None else lead_cursor(key, query.sort, query.descending)
        return views, cursor

    def read_lead(self, workspace: str, lead_id: UUID, read: LeadRead[T]) -> T:
        """`read` on this workspace's lead, in one read of the views. A lead the ledger has
        but the views lag behind: catch up, read again."""
        found = self._try_read(workspace, lead_id, read)
        if found is not None:
            return found[0]
        self._ledger.get_lead(workspace, lead_id)  # LeadNotFoundError: not here at all
        self._views.wait_for(head(self._store))
        found = self._try_read(workspace, lead_id, read)
        if found is None:  # the views could not catch up in time (or the events failed)
            raise ViewLaggingError(str(lead_id))
        return found[0]

    def lead_as_of(self, workspace: str, lead_id: UUID, as_of: datetime) -> ContactView:
        found = lead_as_of(self._engines.read, self._store, workspace, lead_id, as_of)
        if found is None:
            raise LeadNotFoundError(str(lead_id))
        return found

    def write_problem(self) -> str | None:
        """Why ledger writes would not land now (GET /readyz), or None: the writer on one
        batch past the ingest deadline, or the database refusing writes."""
        return self._ledger.write_problem(self.settings.ingest_timeout)

    # -- lifecycle ------------------------------------------------------------------------

    def on_commit(self, listener: Callable[[Recording], None]) -> None:
        """Call `listener` after every committed write (metrics)."""
        self._ledger.listeners.append(listener)

    def start_following(self) -> None:
        self._follower.start()

    def start_webhooks(self) -> None:
        """Deliver outbound webhooks from this process (a background thread)."""
        if self.change_settings.webhook_dispatch:
            self._webhooks.start()

    def close(self) -> None:
        self._intake.close()
        self._webhooks.stop()
        self._ledger.close()  # write what is queued before the store goes
        self._follower.stop()
        self._engines.dispose()
        self._store.close()
        self._keys.close()

    # -------------------------------------------------------------------------------------

    def _on_lead(
        self,
        workspace: str,
        lead_id: UUID,
        build: BuildCommand,
        kind: LeadCommandKind,
        key: str | None,
    ) -> CommandOutcome:
        """A command addressed by lead id, after a workspace check; answered with what the
        views made of it."""
        recording = self._ledger.record_on_lead(workspace, lead_id, build)
        return command_outcome(
            self._store, self._views, self._engines, workspace, recording, kind, key
        )

    def _try_read(self, workspace: str, lead_id: UUID, read: LeadRead[T]) -> tuple[T] | None:
        def attempt(conn: Connection, t: ViewTables) -> tuple[T] | None:
            view = queries.get_view(conn, t, workspace, lead_id)
            return None if view is None else (read(conn, t, view),)

        return queries.read_views(self._engines.read, attempt)


def _counting(rows: Iterable[T], tick: Callable[[], None]) -> Iterator[T]:
    for row in rows:
        yield row
        tick()
