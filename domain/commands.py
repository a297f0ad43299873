"""Commands: what an edge asks the ledger to record on one lead.

Translators (Kapso, WhatsApp Cloud, Sarah, the API) produce these; the ledger groups them
by lead, applies them to the aggregate and saves all touched leads in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.envelope import Said
from domain.lead import Lead
from domain.legacy import LegacyContactRow
from domain.message_parts import InboundParts, OutboundParts, StatusParts


@dataclass(frozen=True)
class LeadCommand:
    """Base: the lead and the provenance of the fact. `phone` is the lead key: the E.164
    phone, or `wa_user:<BSUID>` / `wa_username:@name` for a WhatsApp user without one
    (`Identity.lead_key`, domain/whatsapp_identity.py)."""

    phone: str
    said: Said

    @property
    def fact(self) -> str:
        """A short, stable description of the fact, for answers and logs."""
        return type(self).__name__

    def apply(self, lead: Lead) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class RecordInboundMessage(LeadCommand):
    message_id: str = ""
    message_type: str = "text"
    text: str | None = None
    media: dict[str, Any] | None = None
    conversation_id: str | None = None
    parts: InboundParts = field(default_factory=InboundParts)  # the rest, verbatim

    @property
    def fact(self) -> str:
        return f"message:{self.message_id}"

    def apply(self, lead: Lead) -> bool:
        return lead.record_inbound_message(
            self.said,
            self.message_id,
            self.message_type,
            self.text,
            self.media,
            self.conversation_id,
            self.parts,
        )


@dataclass(frozen=True)
class RecordOutboundMessage(LeadCommand):
    message_id: str = ""
    message_type: str = "text"
    text: str | None = None
    origin: str | None = None
    conversation_id: str | None = None
    parts: OutboundParts = field(default_factory=OutboundParts)

    @property
    def fact(self) -> str:
        return f"message:{self.message_id}"

    def apply(self, lead: Lead) -> bool:
        return lead.record_outbound_message(
            self.said,
            self.message_id,
            self.message_type,
            self.text,
            self.origin,
            self.conversation_id,
            self.parts,
        )


@dataclass(frozen=True)
class RecordMessageStatus(LeadCommand):
    message_id: str = ""
    status: str = "sent"
    error_code: int | None = None
    error_title: str | None = None
    parts: StatusParts = field(default_factory=StatusParts)

    @property
    def fact(self) -> str:
        return f"status:{self.message_id}:{self.status}"

    def apply(self, lead: Lead) -> bool:
        return lead.record_message_status(
            self.said, self.message_id, self.status, self.error_code, self.error_title, self.parts
        )


@dataclass(frozen=True)
class RecordConversation(LeadCommand):
    conversation_id: str = ""
    change: str = "opened"
    detail: dict[str, Any] | None = None

    @property
    def fact(self) -> str:
        return f"conversation:{self.conversation_id}:{self.change}"

    def apply(self, lead: Lead) -> bool:
        return lead.record_conversation(self.said, self.conversation_id, self.change, self.detail)


@dataclass(frozen=True)
class ReportContactName(LeadCommand):
    name: str = ""

    @property
    def fact(self) -> str:
        return "contact_name"

    def apply(self, lead: Lead) -> bool:
        return lead.report_contact_name(self.said, self.name)


@dataclass(frozen=True)
class ReportSarahPhase(LeadCommand):
    chat_phase: str = ""
    # Sarah's object as she sent it; the lead stores it typed (domain/extracted.py).
    extracted_data: dict[str, Any] = field(default_factory=dict)
    lead_score: int | None = None
    lead_temperature: str | None = None
    outcome: str | None = None

    @property
    def fact(self) -> str:
        return f"sarah_phase:{self.chat_phase}"

    def apply(self, lead: Lead) -> bool:
        return lead.report_sarah_phase(
            self.said,
            self.chat_phase,
            self.extracted_data,
            self.lead_score,
            self.lead_temperature,
            self.outcome,
        )


@dataclass(frozen=True)
class RequestStatus(LeadCommand):
    status: str = ""
    reason: str | None = None

    @property
    def fact(self) -> str:
        return f"status_request:{self.status}"

    def apply(self, lead: Lead) -> bool:
        return lead.request_status(self.said, self.status, self.reason)


@dataclass(frozen=True)
class ReleaseStatusHold(LeadCommand):
    @property
    def fact(self) -> str:
        return "status_hold_released"

    def apply(self, lead: Lead) -> bool:
        return lead.release_status_hold(self.said)


@dataclass(frozen=True)
class AddNote(LeadCommand):
    content: str = ""

    @property
    def fact(self) -> str:
        return "note"

    def apply(self, lead: Lead) -> bool:
        return lead.add_note(self.said, self.content)


@dataclass(frozen=True)
class ImportContact(LeadCommand):
    """A contact row of the team's previous system (`leadledger import`)."""

    row: LegacyContactRow = field(default_factory=lambda: LegacyContactRow(""))

    @property
    def fact(self) -> str:
        return f"import:{self.row.legacy_id}"

    def apply(self, lead: Lead) -> bool:
        return lead.import_contact(self.said, self.row)
