"""The application service: one method per intent, the only way in for the HTTP API and
the CLI. Writes go through the ledger's writer (one retry policy); the views are woken by
the ledger's listener (service_layer/bootstrap.py), never by the callers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection

from adapters.config.settings import Settings
from adapters.config.workspaces import Workspaces
from adapters.eventstore.kept_deliveries import kept_page, reingested_among
from adapters.legacy_import.mapping import LegacyMapping
from adapters.legacy_import.readers import RawRow, read_file
from adapters.legacy_import.report import Summary
from domain.commands import LeadCommand, ReportSarahPhase
from domain.lead import Lead
from domain.reducer import ContactView, LedgerEvent
from projections import queries
from projections.as_of import lead_as_of
from projections.catchup import LiveViews, Status
from projections.cursors import lead_cursor
from projections.database import Engines, checkpoint_wal
from projections.live import LiveFollower
from projections.rebuild import Progress, RebuildResult, rebuild
from projections.source import head, lead_history
from projections.state import read_state
from projections.tables import ViewTables
from projections.verify import VerifyResult, verify
from service_layer.command_outcome import CommandOutcome, LeadCommandKind, command_outcome
from service_layer.erasure import Erasure, erase_lead, reapply_erasures
from service_layer.errors import LeadNotFoundError, ViewLaggingError
from service_layer.ingest import Delivery, Ingested, ingest
from service_layer.lead_resolution import erased_lead_ids, resolve_lead_id
from service_layer.ledger import Ledger, Recording
from service_layer.legacy_import import LegacyImport
from service_layer.parallel_import import ImportJob, run_parallel
from service_layer.reingest import ReingestReport, reingest

__all__ = ["LeadLedgerService", "LeadRead", "Recording", "SettledErasure"]

T = TypeVar("T")
LeadRead = Callable[[Connection, ViewTables, ContactView], T]
BuildCommand = Callable[[str], LeadCommand]  # the lead's phone -> the command
ERASURE_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class SettledErasure:
    erasure: Erasure
    views_settled: bool  # False: the views may still show the erased values (retry to see)


class LeadLedgerService:
    def __init__(
        self,
        settings: Settings,
        workspaces: Workspaces,
        ledger: Ledger,
        views: LiveViews,
        engines: Engines,
        follower: LiveFollower,
        database_kind: str,
    ) -> None:
        self.settings = settings
        self.workspaces = workspaces
        self.database_kind = database_kind  # "memory" | "sqlite" | "postgres"
        self._ledger = ledger
        self._store = ledger.store
        self._views = views
        self._engines = engines
        self._follower = follower
        self.erasure_settle_seconds = ERASURE_SETTLE_SECONDS

    # -- writes ---------------------------------------------------------------------------

    def ingest_delivery(self, delivery: Delivery) -> Ingested:
        return ingest(self._ledger, self.workspaces, delivery)

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
    ) -> Summary:
        job = LegacyImport(self._ledger, workspace, self.workspaces.default_region, mapping)
        return job.run(contacts, notes)

    def import_legacy_files(
        self, job: ImportJob, workers: int, on_progress: Callable[[str, int], None]
    ) -> Summary:
        """`leadledger import`: in this process, or split between `workers` processes
        (each with its own store and ledger, service_layer/parallel_import.py)."""
        if workers > 1:
            return run_parallel(job, workers, on_progress)
        with job.rejects.open("w", encoding="utf-8") as rejects_out:
            importer = job.importer(self._ledger, rejects_out, lambda n: on_progress("contacts", n))
            notes = read_file(job.notes, job.notes_format) if job.notes else iter(())
            return importer.run(
                read_file(job.contacts, job.contacts_format),
                _counting(notes, lambda: on_progress("notes", 1)),
            )

    def erase_personal_data(
        self,
        workspace: str,
        lead_id: UUID,
        actor: str,
        reason: str,
        phone_e164: str | None = None,
    ) -> SettledErasure:
        """Erase, then wait until the views are blanked too and flush the views' WAL, so
        the erased values are gone from the database files when the caller is answered;
        `views_settled` says whether that wait succeeded."""
        erasure = erase_lead(self._ledger, workspace, lead_id, actor, reason, phone_e164)
        nid = erasure.notification_id
        settled = self._views.wait_for(
            nid if nid is not None else head(self._store), self.erasure_settle_seconds
        )
        checkpoint_wal(self._engines)
        return SettledErasure(erasure, settled)

    def reapply_erasures(self) -> int:
        return reapply_erasures(self._store)

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

    def views_status(self) -> Status:
        return self._views.status()

    def catch_up_views(self) -> int:
        return self._views.catch_up()

    def active_policy_text(self) -> str:
        with self._engines.read.connect() as conn:
            return read_state(conn).active_policy

    def rebuild_views(
        self, policy_text: str, progress: Progress | None, page_size: int
    ) -> RebuildResult:
        return rebuild(self._engines.write, self._store, policy_text, progress, page_size)

    def verify_views(self, progress: Progress | None, page_size: int) -> VerifyResult:
        return verify(self._engines.write, self._store, progress, page_size)

    def follower_errors(self) -> int:
        return self._follower.errors

    # -- lifecycle ------------------------------------------------------------------------

    def on_commit(self, listener: Callable[[Recording], None]) -> None:
        """Call `listener` after every committed write (metrics)."""
        self._ledger.listeners.append(listener)

    def start_following(self) -> None:
        self._follower.start()

    def close(self) -> None:
        self._ledger.close()  # write what is queued before the store goes
        self._follower.stop()
        self._engines.dispose()
        self._store.close()

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
