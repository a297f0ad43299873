"""Running an import: notes indexed by contact, contacts streamed, chunks recorded.

Each chunk of contacts (with their notes) is one `Ledger.record` call, one transaction:
per-row overhead stays small, and the next chunk is read while one is written. Should a
chunk fail in the store, its contacts are retried one by one so a single bad row cannot
take good rows down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO

from eventsourcing.persistence import InterfaceError, OperationalError

from adapters.legacy_import.mapping import DEFAULT_MAPPING, LegacyMapping
from adapters.legacy_import.plan import (
    PlannedContact,
    PlannedNote,
    note_command,
    parse_note,
    plan_contact,
    reject,
)
from adapters.legacy_import.readers import RawRow
from adapters.legacy_import.report import Reject, RejectSink, Summary
from domain.commands import LeadCommand
from domain.principal import Principal
from service_layer.ledger import Ledger, LedgerBusyError, Recording

log = logging.getLogger(__name__)
CHUNK_CONTACTS = 500


@dataclass
class _Group:
    """One contact row and its notes: recorded together, rejected together."""

    contact: PlannedContact
    notes: list[PlannedNote]
    commands: list[LeadCommand]


_Outcome = tuple[list[_Group], Recording | None]  # committed, or None: the store refused


class LegacyImport:
    def __init__(
        self,
        ledger: Ledger,
        workspace: str,
        region: str = "ID",
        mapping: LegacyMapping = DEFAULT_MAPPING,
        rejects_out: IO[str] | None = None,
        on_progress: Callable[[int], None] | None = None,
        chunk_contacts: int = CHUNK_CONTACTS,
        received_at: datetime | None = None,
        pipelined: bool = True,
        principal: Principal | None = None,
    ) -> None:
        self.ledger, self.workspace, self.region, self.mapping = ledger, workspace, region, mapping
        self.summary = Summary()
        self._reject = RejectSink(self.summary, rejects_out)
        self._on_progress = on_progress
        self.chunk_contacts = chunk_contacts
        self.received_at = received_at or datetime.now(UTC)
        # Read the next chunk while one is written: worth it when a core is free; a worker
        # process among as many as there are cores gains nothing from a second thread.
        self.pipelined = pipelined
        self.last_notification_id: int | None = None  # the ledger position last written
        self.principal = principal  # the API key importing (None: the CLI on the server)

    def run(self, contacts: Iterable[RawRow], notes: Iterable[RawRow] = ()) -> Summary:
        pending = self._index_notes(notes)
        rejected_ids: set[str] = set()
        chunk: list[_Group] = []
        # One chunk is written (in the ledger) while the next one is read and validated.
        with _writer(self.pipelined) as writer:
            in_flight: Future[list[_Outcome]] | None = None
            for row in contacts:
                self.summary.contacts_read += 1
                planned = plan_contact(row, self.mapping, self.region, self.received_at)
                if isinstance(planned, Reject):
                    self._reject(planned)
                    rejected_ids.update(_ids_of(row))
                else:
                    chunk.append(self._group(planned, pending))
                if len(chunk) >= self.chunk_contacts:
                    self._settle(in_flight)
                    in_flight, chunk = writer.submit(self._write, chunk), []
                self._progress(1)
            self._settle(in_flight)
            self._settle(writer.submit(self._write, chunk))
        self._reject_orphans(pending, rejected_ids)
        return self.summary

    # -- notes ---------------------------------------------------------------------------

    def _index_notes(self, rows: Iterable[RawRow]) -> dict[str, list[PlannedNote]]:
        by_contact: dict[str, list[PlannedNote]] = {}
        for row in rows:
            self.summary.notes_read += 1
            planned = parse_note(row)
            if isinstance(planned, Reject):
                self._reject(planned)
            else:
                by_contact.setdefault(planned.note.contact_id, []).append(planned)
        return by_contact

    def _group(self, planned: PlannedContact, pending: dict[str, list[PlannedNote]]) -> _Group:
        notes = [note for legacy_id in planned.ids for note in pending.pop(legacy_id, [])]
        phone = planned.command.phone
        commands: list[LeadCommand] = [planned.command]
        commands += [note_command(n, phone, self.received_at) for n in notes]
        if self.principal is not None:
            principal = self.principal
            commands = [replace(c, said=replace(c.said, principal=principal)) for c in commands]
        return _Group(planned, notes, commands)

    def _reject_orphans(self, pending: dict[str, list[PlannedNote]], rejected: set[str]) -> None:
        for contact_id, notes in pending.items():
            reason = "contact_rejected" if contact_id in rejected else "unknown_contact"
            for note in notes:
                detail = f"contact_id: no imported contact has id {contact_id!r}"
                if reason == "contact_rejected":
                    detail = f"contact_id: contact {contact_id!r} was rejected"
                self._reject(reject(note.row, reason, detail))

    # -- recording -----------------------------------------------------------------------

    def _write(self, groups: list[_Group]) -> list[_Outcome]:
        """Record a chunk in one transaction; if the store refuses it, group by group, so
        a refused row (None) is the only one lost to the import."""
        if not groups:
            return []
        commands = [c for g in groups for c in g.commands]
        try:
            return [(groups, self.ledger.record(self.workspace, commands))]
        except (LedgerBusyError, InterfaceError, OperationalError):
            raise  # the store is down or busy: stop; re-running resumes where this stopped
        except Exception:  # isolate the row the store refuses
            if len(groups) == 1:
                log.exception("import: row %s refused by the store", groups[0].contact.row.line)
                return [(groups, None)]
            return [outcome for group in groups for outcome in self._write([group])]

    def _settle(self, written: Future[list[_Outcome]] | None) -> None:
        """Wait for a chunk's commit and count it (on the calling thread)."""
        for groups, recording in [] if written is None else written.result():
            if recording is None:
                self._reject_group(groups[0])
            else:
                self._count(groups, recording)

    def _count(self, groups: list[_Group], recording: Recording) -> None:
        s = self.summary
        if recording.last_notification_id is not None:
            self.last_notification_id = recording.last_notification_id
        s.leads_created += len(recording.new_leads)
        s.events_appended += recording.appended + len(recording.new_leads)
        facts = iter(recording.facts)
        for group in groups:
            if next(facts).appended:
                s.contacts_imported += 1
            else:
                s.contacts_unchanged += 1
            for _note in group.notes:
                if next(facts).appended:
                    s.notes_imported += 1
                else:
                    s.notes_unchanged += 1

    def _reject_group(self, group: _Group) -> None:
        self._reject(reject(group.contact.row, "store_error", "the store refused this row"))
        for note in group.notes:
            self._reject(reject(note.row, "contact_rejected", "its contact was refused"))

    def _progress(self, n: int) -> None:
        if self._on_progress is not None:
            self._on_progress(n)


class _InlineWriter:
    """The executor interface, writing on the calling thread."""

    def submit(
        self, fn: Callable[[list[_Group]], list[_Outcome]], chunk: list[_Group]
    ) -> Future[list[_Outcome]]:
        done: Future[list[_Outcome]] = Future()
        done.set_result(fn(chunk))
        return done

    def __enter__(self) -> _InlineWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _writer(pipelined: bool) -> ThreadPoolExecutor | _InlineWriter:
    if pipelined:
        return ThreadPoolExecutor(1, thread_name_prefix="import-writer")
    return _InlineWriter()


def _ids_of(row: RawRow) -> list[str]:
    data = row.data or {}
    return [str(data[k]) for k in ("_id", "supabaseId") if data.get(k) is not None]
