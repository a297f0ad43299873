"""The Lead aggregate: an append-only record of what each source said about one person.

Commands are intent-named and idempotent: a fact already recorded (same WhatsApp message
id, same (message id, status), same idempotency key) is not appended again. Whether a
status request *wins* is decided later by projections, never here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import lead_events as events
from domain.envelope import Said
from domain.extracted import ExtractedData
from domain.extracted import score as coerce_score
from domain.extracted import temperature as coerce_temperature
from domain.identity import lead_id_for
from domain.legacy import NOTHING, LegacyContactRow, fingerprint_key


class Lead(Aggregate):
    """One person in one workspace, keyed by E.164 phone."""

    # The stored shapes, versioned (domain/lead_events.py); stored as `Lead.<Name>`.
    Registered = events.Registered
    InboundMessageReceived = events.InboundMessageReceived
    OutboundMessageSent = events.OutboundMessageSent
    MessageStatusChanged = events.MessageStatusChanged
    ConversationChanged = events.ConversationChanged
    ContactNameReported = events.ContactNameReported
    SarahPhaseReported = events.SarahPhaseReported
    StatusRequested = events.StatusRequested
    StatusHoldReleased = events.StatusHoldReleased
    NoteAdded = events.NoteAdded
    PersonalDataErased = events.PersonalDataErased
    ContactImported = events.ContactImported

    @staticmethod
    def create_id(workspace: str, phone: str) -> UUID:
        return lead_id_for(workspace, phone)

    @event(Registered)
    def __init__(
        self,
        workspace: str,
        phone: str,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.phone: str | None = phone  # None once erased (docs/erasure.md)
        # Keys of the facts already recorded; kept in snapshots so dedup stays cheap.
        self.facts: dict[str, int] = {}
        self.reported_name: str | None = None
        self.last_sarah_report: str | None = None

    # -- queries -------------------------------------------------------------------------

    def knows(self, fact_key: str | None) -> bool:
        return fact_key is not None and fact_key in self.facts

    # -- commands ------------------------------------------------------------------------

    def record_inbound_message(
        self,
        said: Said,
        message_id: str,
        message_type: str,
        text: str | None,
        media: dict[str, Any] | None = None,
        conversation_id: str | None = None,
    ) -> bool:
        if self._seen(f"msg:{message_id}", said):
            return False
        self._inbound_message_received(
            message_id=message_id,
            message_type=message_type,
            text=text,
            media=media,
            conversation_id=conversation_id,
            **said.fields(),
        )
        return True

    def record_outbound_message(
        self,
        said: Said,
        message_id: str,
        message_type: str,
        text: str | None,
        origin: str | None = None,
        conversation_id: str | None = None,
    ) -> bool:
        if self._seen(f"msg:{message_id}", said):
            return False
        self._outbound_message_sent(
            message_id=message_id,
            message_type=message_type,
            text=text,
            origin=origin,
            conversation_id=conversation_id,
            **said.fields(),
        )
        return True

    def record_message_status(
        self,
        said: Said,
        message_id: str,
        status: str,
        error_code: int | None = None,
        error_title: str | None = None,
    ) -> bool:
        if self._seen(f"status:{message_id}:{status}", said):
            return False
        self._message_status_changed(
            message_id=message_id,
            status=status,
            error_code=error_code,
            error_title=error_title,
            **said.fields(),
        )
        return True

    def record_conversation(
        self,
        said: Said,
        conversation_id: str,
        change: str,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        marker = (detail or {}).get("since_message_id") or ""
        if self._seen(f"conv:{conversation_id}:{change}:{marker}", said):
            return False
        self._conversation_changed(
            conversation_id=conversation_id, change=change, detail=detail, **said.fields()
        )
        return True

    def report_contact_name(self, said: Said, name: str) -> bool:
        # Every Kapso delivery repeats the contact name; only a new spelling is a new fact.
        if not name or name == self.reported_name:
            return False
        self._contact_name_reported(name=name, **said.fields())
        return True

    def report_sarah_phase(
        self,
        said: Said,
        chat_phase: str,
        extracted_data: Mapping[str, Any] | ExtractedData,
        lead_score: int | str | None,
        lead_temperature: str | None,
        outcome: str | None,
    ) -> bool:
        """Record Sarah's report; her object (or an ExtractedData) is stored typed (v2)."""
        if not isinstance(extracted_data, ExtractedData):
            extracted_data = ExtractedData.from_sarah(extracted_data)
        extracted, score = extracted_data.to_event(), coerce_score(lead_score)
        temperature = coerce_temperature(lead_temperature)
        fingerprint = _report_fingerprint(chat_phase, extracted, score, temperature, outcome)
        # Sarah retries on network errors without a key: the same report said twice in a
        # row is one fact. (A repeat after another report, or under a new key, is new.)
        repeated = said.idempotency_key is None and fingerprint == self.last_sarah_report
        if self._seen(None, said) or repeated:
            return False
        self._sarah_phase_reported(
            chat_phase=chat_phase,
            extracted_data=extracted,
            lead_score=score,
            lead_temperature=temperature,
            outcome=outcome,
            **said.fields(),
        )
        return True

    def request_status(self, said: Said, status: str, reason: str | None) -> bool:
        if self._seen(None, said):
            return False
        self._status_requested(status=status, reason=reason, **said.fields())
        return True

    def release_status_hold(self, said: Said) -> bool:
        if self._seen(None, said):
            return False
        self._status_hold_released(**said.fields())
        return True

    def add_note(self, said: Said, content: str) -> bool:
        if self._seen(None, said):
            return False
        self._note_added(content=content, **said.fields())
        return True

    # -- helpers -------------------------------------------------------------------------

    def _seen(self, fact_key: str | None, said: Said) -> bool:
        """True when this fact is already recorded.

        Facts with a natural key (WhatsApp message id, status) dedup on it: one webhook
        delivery, and so one idempotency key, can carry many of them. Commands without
        one (Sarah, Brain, humans) dedup on the caller's idempotency key, when given.
        """
        if fact_key is not None:
            return self.knows(fact_key)
        return said.idempotency_key is not None and self.knows(f"idem:{said.idempotency_key}")

    def _remember(self, *keys: str | None) -> None:
        for key in keys:
            if key is not None:
                self.facts[key] = self.version

    def _remember_idempotency(self, idempotency_key: str | None) -> None:
        if idempotency_key is not None:
            self._remember(f"idem:{idempotency_key}")

    # -- events: each applies only what dedup needs; views are built by projections -------

    @event(InboundMessageReceived)
    def _inbound_message_received(
        self,
        message_id: str,
        message_type: str,
        text: str | None,
        media: dict[str, Any] | None,
        conversation_id: str | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember(f"msg:{message_id}")

    @event(OutboundMessageSent)
    def _outbound_message_sent(
        self,
        message_id: str,
        message_type: str,
        text: str | None,
        origin: str | None,
        conversation_id: str | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember(f"msg:{message_id}")

    @event(MessageStatusChanged)
    def _message_status_changed(
        self,
        message_id: str,
        status: str,
        error_code: int | None,
        error_title: str | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember(f"status:{message_id}:{status}")

    @event(ConversationChanged)
    def _conversation_changed(
        self,
        conversation_id: str,
        change: str,
        detail: dict[str, Any] | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        marker = (detail or {}).get("since_message_id") or ""
        self._remember(f"conv:{conversation_id}:{change}:{marker}")

    @event(ContactNameReported)
    def _contact_name_reported(
        self,
        name: str,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self.reported_name = name

    @event(SarahPhaseReported)
    def _sarah_phase_reported(
        self,
        chat_phase: str,
        extracted_data: dict[str, Any],
        lead_score: int | None,
        lead_temperature: str | None,
        outcome: str | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember_idempotency(idempotency_key)
        self.last_sarah_report = _report_fingerprint(
            chat_phase, extracted_data, lead_score, lead_temperature, outcome
        )

    @event(StatusRequested)
    def _status_requested(
        self,
        status: str,
        reason: str | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember_idempotency(idempotency_key)

    @event(StatusHoldReleased)
    def _status_hold_released(
        self,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember_idempotency(idempotency_key)

    @event(NoteAdded)
    def _note_added(
        self,
        content: str,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self._remember_idempotency(idempotency_key)

    # -- erasure of the person's data (docs/erasure.md) -----------------------------------

    erased: bool = False  # a class default: leads (and snapshots) from before erasure

    def erase_personal_data(self, said: Said, reason: str) -> bool:
        """Record the erasure (who, when, why) and forget the personal attributes; the
        adapters then destroy the lead's key. Once erased, always: a repeat appends nothing."""
        if self.erased:
            return False
        self._personal_data_erased(reason=reason, **said.fields())
        return True

    @event(PersonalDataErased)
    def _personal_data_erased(
        self,
        reason: str,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        self.erased = True
        self.erased_at = received_at
        self.phone = None
        self.reported_name = None
        self.last_sarah_report = None

    # -- rows of the previous system (leadledger import, docs/import.md) -----------------

    # Per (legacy id, field group) the fingerprint last imported. A class default: leads
    # and snapshots from before imports have none; a shredded snapshot reads None.
    imported: dict[str, str] | None = None

    def import_contact(self, said: Said, row: LegacyContactRow) -> bool:
        """Record a legacy contact row the first time its legacy id is seen, and again only
        when a field group differs from that id's last import (A -> B -> A is three facts;
        the same row twice is one)."""
        if self.erased:
            return False
        last = self.imported or {}
        changed = [
            group
            for group, digest in row.fingerprints().items()
            if last.get(fingerprint_key(row.legacy_id, group), NOTHING) != digest
        ]
        if self.knows(f"import:{row.legacy_id}") and not changed:
            return False
        self._contact_imported(
            legacy_id=row.legacy_id,
            convex_id=row.convex_id,
            supabase_id=row.supabase_id,
            changed=changed,
            name=row.name,
            legacy_status=row.legacy_status,
            status=row.status,
            temperature=row.temperature,
            reason=row.reason,
            lead_score=row.lead_score,
            metadata=row.metadata,
            legacy_created_at=row.created_at,
            legacy_updated_at=row.updated_at,
            **said.fields(),
        )
        return True

    @event(ContactImported)
    def _contact_imported(
        self,
        legacy_id: str,
        convex_id: str | None,
        supabase_id: str | None,
        changed: list[str],
        name: str | None,
        legacy_status: str | None,
        status: str | None,
        temperature: str | None,
        reason: str | None,
        lead_score: int | None,
        metadata: dict[str, Any] | None,
        legacy_created_at: datetime | None,
        legacy_updated_at: datetime | None,
        source: str,
        actor: str,
        received_at: datetime,
        occurred_at: datetime | None,
        idempotency_key: str | None,
    ) -> None:
        row = LegacyContactRow(
            legacy_id,
            name=name,
            legacy_status=legacy_status,
            status=status,
            temperature=temperature,
            lead_score=lead_score,
            metadata=metadata,
        )
        imported = dict(self.imported or {})
        for group, digest in row.fingerprints().items():
            imported[fingerprint_key(legacy_id, group)] = digest
        self.imported = imported
        self._remember(f"import:{legacy_id}")


def _report_fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
