"""The write path: apply commands to leads and save them, many requests per transaction.

`record()` hands its request to the group committer (service_layer/group_commit.py) and waits:
the writer thread writes everything waiting in one transaction (service_layer/ledger_batch.py),
and each caller is answered only after its facts are committed. A request of more than
`CHUNK_COMMANDS` commands is handed over a chunk at a time, each chunk queued behind what
other callers are waiting with: one sender's huge batch never holds the writer for longer
than a chunk's transaction, nor all its leads in memory at once. Optimistic-concurrency
conflicts (another process appended to one of these leads first) are retried on fresh
state, so they never surface as errors and never lose a fact; dedup lives in the
aggregate, so a retry of an already-recorded fact appends nothing.

Erasures and raw unhandled deliveries (service_layer/single_writes.py) take the same writer,
one per transaction, under the same retry policy. Listeners hear of every committed write
(metrics, waking the views).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from adapters.eventstore.connections import discard_idle_connections, probe_writable
from adapters.eventstore.store import LedgerStore
from domain.commands import LeadCommand
from domain.delivery import UnhandledDelivery
from domain.envelope import Said
from domain.lead import Lead
from service_layer.errors import LeadNotFoundError, LedgerBusyError
from service_layer.group_commit import GroupCommitter
from service_layer.ledger_batch import LeadBatch, RecordedFact, Recording, WriteRequest
from service_layer.single_writes import (
    EraseRequest,
    KeepUnhandledRequest,
    MarkReingestedRequest,
    load_lead,
    write_erasure,
    write_reingested,
    write_unhandled,
)
from service_layer.write_health import WriteHealth

__all__ = ["LeadNotFoundError", "Ledger", "LedgerBusyError", "RecordedFact", "Recording"]

LedgerRequest = WriteRequest | EraseRequest | KeepUnhandledRequest | MarkReingestedRequest

log = logging.getLogger("leadledger.ledger")

# The database is unreachable or refuses writes (down, disk full): every request of the
# batch gets the error (the API answers 503), with no request-by-request retry against it.
UNAVAILABLE = (OperationalError, InterfaceError)
BATCH_ATTEMPTS = 5  # conflicts on a whole batch before writing its requests one by one
# Commands per transaction (a command appends one or two events) when the writer groups
# several requests: a batch above is split between requests. Keeps transactions short;
# the PostgreSQL stall of large saves (docs/reliability.md, gap 6) is fixed at its cause
# (adapters/eventstore/pg_recorder.py), not by this cap.
MAX_COMMANDS_PER_TRANSACTION = 2000
# Commands of one request per transaction: a larger request is written as consecutive
# chunks, one at a time, other requests in between (fair scheduling between senders). A
# retry of a half-written request appends only what is missing (dedup), so a chunk is the
# unit of atomicity, not the request.
CHUNK_COMMANDS = 100
# A request of more commands (a chunk of a large one, an import's) is bulk: written after
# the smaller requests of its batch, in a transaction of its own.
BULK_COMMANDS = 50


class _ContentionError(Exception):
    """A batch kept conflicting: write its requests one by one instead."""


class Ledger:
    def __init__(
        self,
        store: LedgerStore,
        max_attempts: int = 50,
        max_batch: int = 256,
        max_commands: int = MAX_COMMANDS_PER_TRANSACTION,
        chunk_commands: int = CHUNK_COMMANDS,
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.max_commands = max_commands
        self.chunk_commands = chunk_commands
        self.health = WriteHealth()
        # Called after each committed write (metrics, waking the views); never before it.
        self.listeners: list[Callable[[Recording], None]] = []
        # Called once the writer stopped (the inline views drain what it handed them).
        self.on_close: list[Callable[[], None]] = []
        self.writer: GroupCommitter[LedgerRequest, Recording] = GroupCommitter(
            self.write_batch, max_batch, name="ledger-writer"
        )

    def record(self, workspace: str, commands: Sequence[LeadCommand]) -> Recording:
        """Append each command's fact (once) on its lead, in arrival order; up to
        `chunk_commands` commands per transaction, shared with whatever other requests
        are waiting. Returns after the last commit."""
        commands = tuple(commands)
        size = self.chunk_commands
        if len(commands) <= size:
            return self._submit(WriteRequest(workspace, commands))
        facts: list[RecordedFact] = []
        new_leads: list[UUID] = []
        last: int | None = None
        for start in range(0, len(commands), size):
            # The next chunk is queued only once this one committed: behind it, every
            # request another sender queued meanwhile is written first.
            chunk = self._submit(WriteRequest(workspace, commands[start : start + size]))
            facts += chunk.facts
            new_leads += chunk.new_leads
            last = chunk.last_notification_id or last
        return Recording(facts, new_leads, last)

    def erase(self, workspace: str, lead_id: UUID, said: Said, reason: str) -> Recording:
        """Append the lead's erasure (nothing when already erased). Destroying its key is
        the caller's next step, only once this returned (service_layer/erasure.py)."""
        return self._submit(EraseRequest(workspace, lead_id, said, reason))

    def keep_unhandled(self, delivery: UnhandledDelivery) -> Recording:
        """Keep a raw delivery; its content-hash id makes a repeat append nothing."""
        return self._submit(KeepUnhandledRequest(delivery))

    def mark_reingested(self, request: MarkReingestedRequest) -> Recording:
        """Record on a kept delivery that it was translated again (once)."""
        return self._submit(request)

    def _submit(self, request: LedgerRequest) -> Recording:
        recording = self.writer.submit(request).result()
        for listener in self.listeners:
            listener(recording)
        return recording

    def record_on_lead(
        self, workspace: str, lead_id: UUID, build: Callable[[str], LeadCommand]
    ) -> Recording:
        """Record a command addressed by lead id (status, notes) after a workspace check."""
        lead = self.get_lead(workspace, lead_id)
        if lead.erased or lead.phone is None:  # an erased lead takes no new facts
            raise LeadNotFoundError(str(lead_id))
        return self.record(workspace, [build(lead.phone)])

    def get_lead(self, workspace: str, lead_id: UUID) -> Lead:
        return load_lead(self.store, workspace, lead_id)

    def close(self) -> None:
        """Write what is queued and stop the writer thread (later records write inline)."""
        self.writer.close()
        for stopped in self.on_close:
            stopped()

    def write_problem(self, stall_seconds: float) -> str | None:
        """Why writes would not land now (GET /readyz), or None: the writer has been on one
        batch for more than `stall_seconds`, or the last write found the database
        unavailable and it still refuses a write (or did so moments ago). Both clear by
        themselves once the batch ends or the database takes writes again."""
        busy = self.writer.busy_for()
        if busy > stall_seconds:
            return f"the ledger writer has been on one batch for {busy:.0f} s"
        failing = self.health.failing()
        if failing is None:
            return None
        if failing.recent or not probe_writable(self.store):
            return f"ledger writes failing: {failing.error}"
        discard_idle_connections(self.store)  # writable again: the next write on fresh ones
        return None

    def write_batch(self, requests: Sequence[LedgerRequest]) -> list[Recording | BaseException]:
        """The writer's job: one outcome per request, a Recording only for committed work;
        one transaction per `max_commands` commands at most. Bulk requests (chunks of a
        large one) go after the batch's other requests, each in a transaction of its own:
        a single delivery never shares a transaction with, nor waits behind, a chunk that
        happened to be queued before it."""
        order = sorted(range(len(requests)), key=lambda i: _is_bulk(requests[i]))  # stable
        written: list[Recording | BaseException] = []
        for part in _parts([requests[i] for i in order], self.max_commands):
            outcomes = self._write_part(part)
            self._note_health(outcomes)
            written += outcomes
        in_order: list[Recording | BaseException] = [*written]
        for position, index in enumerate(order):
            in_order[index] = written[position]
        return in_order

    def _note_health(self, outcomes: Sequence[Recording | BaseException]) -> None:
        unavailable = [o for o in outcomes if isinstance(o, UNAVAILABLE)]
        if unavailable:
            self.health.failed(unavailable[0])
            # A connection SQLite opened read-only stays so: the next write opens a new one.
            discard_idle_connections(self.store)
        elif any(isinstance(o, Recording) for o in outcomes):
            self.health.succeeded()

    def _write_part(self, requests: Sequence[LedgerRequest]) -> list[Recording | BaseException]:
        if len(requests) == 1 and _is_bulk(requests[0]):
            # Its views are left to the follower, off the path of the requests behind it
            # (the fairness bound: docs/reliability.md).
            with self.store.bulk():
                return [self._write_alone(requests[0])]
        if len(requests) == 1:
            return [self._write_alone(requests[0])]
        try:
            return list(self._write_with_retries(requests, BATCH_ATTEMPTS))
        except UNAVAILABLE as exc:
            return [exc] * len(requests)
        except Exception as exc:  # a poisoned request, a bad row, a batch that kept conflicting
            if not isinstance(exc, _ContentionError):
                log.info(
                    "batch of %d failed (%r); writing its requests one by one", len(requests), exc
                )
            return [self._write_alone(request) for request in requests]

    def _write_alone(self, request: LedgerRequest) -> Recording | BaseException:
        try:
            [recording] = self._write_with_retries([request], self.max_attempts)
        except _ContentionError:
            return LedgerBusyError("too many concurrent writers on the same lead")
        except Exception as exc:
            return exc
        return recording

    def _write_with_retries(
        self, requests: Sequence[LedgerRequest], attempts: int
    ) -> list[Recording]:
        for attempt in range(attempts):
            try:
                # Fresh aggregates on every attempt: a failed one is never saved.
                return self._write_once(requests)
            except IntegrityError:
                # Someone else appended to one of these leads: reload and re-apply.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise _ContentionError

    def _write_once(self, requests: Sequence[LedgerRequest]) -> list[Recording]:
        match requests:
            case [EraseRequest() as erase]:
                return [write_erasure(self.store, erase)]
            case [KeepUnhandledRequest() as keep]:
                return [write_unhandled(self.store, keep)]
            case [MarkReingestedRequest() as mark]:
                return [write_reingested(self.store, mark)]
        return LeadBatch(self.store).record(
            [r for r in requests if isinstance(r, WriteRequest)]  # _parts keeps others alone
        )


def _is_bulk(request: LedgerRequest) -> bool:
    return isinstance(request, WriteRequest) and len(request.commands) > BULK_COMMANDS


def _parts(requests: Sequence[LedgerRequest], max_commands: int) -> list[Sequence[LedgerRequest]]:
    """Consecutive runs of command requests of at most `max_commands` commands (a larger
    request is a run of its own); an erasure, a kept delivery or a bulk request is always
    alone."""
    parts: list[Sequence[LedgerRequest]] = []
    start, size = 0, 0
    for i, request in enumerate(requests):
        alone = not isinstance(request, WriteRequest) or _is_bulk(request)
        commands = request.commands if isinstance(request, WriteRequest) else ()
        if i > start and (alone or size + len(commands) > max_commands):
            parts.append(requests[start:i])
            start, size = i, 0
        size += len(commands)
        if alone:
            parts.append(requests[i : i + 1])
            start, size = i + 1, 0
    if start < len(requests):
        parts.append(requests[start:])
    return parts
