"""The Lead aggregate: an append-only record of what each source said about one person.

Commands are intent-named and idempotent: a fact already recorded (same WhatsApp message
id, same (message id, status), same idempotency key) is not appended again. Whether a
status request *wins* is decided later by projections, never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import lead_events as events
from domain import lead_state_events as kept
from domain.envelope import Said
from domain.extracted import ExtractedData
from domain.extracted import score as coerce_score
from domain.extracted import temperature as coerce_temperature
from domain.idempotency import refuse_if_reused
from domain.identity import lead_id_for
from domain.legacy import LegacyContactRow, changed_groups
from domain.message_parts import InboundParts, OutboundParts, StatusParts


class Lead(Aggregate):
    """One person in one workspace, keyed by E.164 phone, or `wa_user:<BSUID>` for a
    WhatsApp user who comes without one (domain/whatsapp_identity.py)."""

    # The stored shapes, versioned (domain/lead_events.py); stored as `Lead.<Name>`. Every
    # fact remembers its dedup key in `LeadFact.apply`; the four below also keep what later
    # commands need to tell a repeat from a new fact.
    Registered = events.Registered
    InboundMessageReceived = events.InboundMessageReceived
    OutboundMessageSent = events.OutboundMessageSent
    MessageStatusChanged = events.MessageStatusChanged
    ConversationChanged = events.ConversationChanged
    StatusRequested = events.StatusRequested
    StatusHoldReleased = events.StatusHoldReleased
    NoteAdded = events.NoteAdded

    IdentityLinked = kept.IdentityLinked
    ContactNameReported = kept.ContactNameReported
    SarahPhaseReported = kept.SarahPhaseReported
    PersonalDataErased = kept.PersonalDataErased
    ContactImported = kept.ContactImported

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

    # Class defaults: leads (and snapshots) from before erasure and imports existed. A
    # shredded snapshot reads `imported` as None.
    erased: bool = False
    # Per (legacy id, field group) the fingerprint last imported.
    imported: dict[str, str] | None = None
    # The id of the lead holding this person's history, once another id of theirs was
    # linked to this one (IdentityLinked): writes and lookups go there.
    held_by: str | None = None
    # The source time of `reported_name` (None: leads and snapshots from before it was kept).
    reported_name_at: datetime | None = None
    # Per idempotency fact key, what its request said (domain/idempotency.py).
    requests: dict[str, str] | None = None

    # -- queries -------------------------------------------------------------------------

    def knows(self, fact_key: str | None) -> bool:
        return fact_key is not None and fact_key in self.facts

    # -- commands: each records its fact once (a known fact appends nothing) -------------

    def record_inbound_message(
        self,
        said: Said,
        message_id: str,
        message_type: str,
        text: str | None,
        media: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        parts: InboundParts | None = None,
    ) -> bool:
        return self._record(
            self.InboundMessageReceived,
            said,
            events.message_fact(message_id),
            message_id=message_id,
            message_type=message_type,
            text=text,
            media=media,
            conversation_id=conversation_id,
            **(parts or InboundParts()).fields(),
        )

    def record_outbound_message(
        self,
        said: Said,
        message_id: str,
        message_type: str,
        text: str | None,
        origin: str | None = None,
        conversation_id: str | None = None,
        parts: OutboundParts | None = None,
    ) -> bool:
        return self._record(
            self.OutboundMessageSent,
            said,
            events.message_fact(message_id),
            message_id=message_id,
            message_type=message_type,
            text=text,
            origin=origin,
            conversation_id=conversation_id,
            **(parts or OutboundParts()).fields(),
        )

    def record_message_status(
        self,
        said: Said,
        message_id: str,
        status: str,
        error_code: int | None = None,
        error_title: str | None = None,
        parts: StatusParts | None = None,
    ) -> bool:
        return self._record(
            self.MessageStatusChanged,
            said,
            events.message_status_fact(message_id, status),
            message_id=message_id,
            status=status,
            error_code=error_code,
            error_title=error_title,
            **(parts or StatusParts()).fields(),
        )

    def record_conversation(
        self,
        said: Said,
        conversation_id: str,
        change: str,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        return self._record(
            self.ConversationChanged,
            said,
            events.conversation_fact(conversation_id, change, detail),
            conversation_id=conversation_id,
            change=change,
            detail=detail,
        )

    def report_contact_name(self, said: Said, name: str) -> bool:
        # Every Kapso delivery repeats the contact name; only a new spelling is a new fact.
        at = said.occurred_at or said.received_at
        if not kept.is_new_name(self, name, said.occurred_at, at):
            return False
        self.trigger_event(self.ContactNameReported, name=name, **said.fields())
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
        fingerprint = kept.report_fingerprint(chat_phase, extracted, score, temperature, outcome)
        # Sarah retries on network errors without a key: the same report said twice in a
        # row is one fact. (A repeat after another report, or under a new key, is new.)
        if said.idempotency_key is None and fingerprint == self.last_sarah_report:
            return False
        return self._record(
            self.SarahPhaseReported,
            said,
            None,
            chat_phase=chat_phase,
            extracted_data=extracted,
            lead_score=score,
            lead_temperature=temperature,
            outcome=outcome,
            principal=said.principal_record(),
        )

    def request_status(self, said: Said, status: str, reason: str | None) -> bool:
        principal = said.principal_record()
        return self._record(
            self.StatusRequested, said, None, status=status, reason=reason, principal=principal
        )

    def release_status_hold(self, said: Said) -> bool:
        return self._record(self.StatusHoldReleased, said, None, principal=said.principal_record())

    def add_note(self, said: Said, content: str) -> bool:
        principal = said.principal_record()
        return self._record(self.NoteAdded, said, None, content=content, principal=principal)

    def erase_personal_data(self, said: Said, reason: str) -> bool:
        """Record the erasure (who, when, why) and forget the personal attributes; the
        adapters then destroy the lead's key (docs/erasure.md). Once erased, always."""
        if self.erased:
            return False
        principal = said.principal_record()
        self.trigger_event(
            self.PersonalDataErased, reason=reason, principal=principal, **said.fields()
        )
        return True

    def import_contact(self, said: Said, row: LegacyContactRow) -> bool:
        """Record a legacy contact row (docs/import.md) the first time its legacy id is
        seen, and again only when a field group differs from that id's last import
        (A -> B -> A is three facts; the same row twice is one)."""
        if self.erased:
            return False
        changed = changed_groups(self.imported, row)
        if self.knows(events.import_fact(row.legacy_id)) and not changed:
            return False
        self.trigger_event(
            self.ContactImported,
            legacy_id=row.legacy_id,
            convex_id=row.convex_id,
            supabase_id=row.supabase_id,
            changed=changed,
            name=row.name,
            legacy_status=row.legacy_status,
            lead_score=row.lead_score,
            metadata=row.metadata,
            legacy_created_at=row.created_at,
            legacy_updated_at=row.updated_at,
            mapped_at_import=None,  # the views map legacy_status (v2)
            principal=said.principal_record(),
            **said.fields(),
        )
        return True

    def link_identity(
        self,
        said: Said,
        identity: str,
        kind: str,
        reason: str,
        held_by: str | None = None,
        merged_facts: list[str] | None = None,
    ) -> bool:
        """Record that `identity` names this person too; once per (kind, identity), so a
        redelivery appends nothing. `held_by`: the lead that holds their history, when it
        is not this one (docs/read-models.md)."""
        if self.erased or held_by == str(self.id):
            return False
        return self._record(
            self.IdentityLinked,
            said,
            events.identity_link_fact(kind, identity),
            identity=identity,
            kind=kind,
            reason=reason,
            held_by=held_by,
            merged_facts=merged_facts,
        )

    def _record(
        self,
        fact: type[events.LeadFact],
        said: Said,
        natural_key: str | None,
        **attributes: Any,
    ) -> bool:
        """Append the fact unless it is known. Facts with a natural key (WhatsApp message
        id, status) dedup on it: one webhook delivery, and so one idempotency key, can
        carry many of them. The others dedup on the caller's idempotency key, if any."""
        key = natural_key or events.idempotency_fact(said.idempotency_key)
        if self.knows(key):
            if natural_key is None and key is not None:
                said_now = {**attributes, **said.fields()}
                refuse_if_reused(self.requests, key, fact.__name__, said_now)
            return False
        self.trigger_event(fact, **attributes, **said.fields())
        return True
