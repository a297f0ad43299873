"""The stored shape of each Lead event: its fields, its version and its upcasters.

`domain.lead.Lead` adopts these classes (`Registered = lead_events.Registered`, then
`@event(Registered)`), so they are stored under the topics `domain.lead:Lead.<Name>`.
Changing a shape means: bump `class_version`, add `upcast_v<N>_v<N+1>` (a pure static
method on the stored dict), keep old fixtures loading (docs/evolution.md). Upcasters run on
plain values, after any decryption, and must accept None where a value was erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.extracted import ExtractedData, score, temperature


class Registered(Aggregate.Created):
    class_version = 1
    workspace: str
    phone: str
    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None
    idempotency_key: str | None


class LeadFact(Aggregate.Event):
    """Base of every event after Registered: who said the fact, and when (`Said`)."""

    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None
    idempotency_key: str | None


class InboundMessageReceived(LeadFact):
    class_version = 1
    message_id: str
    message_type: str
    text: str | None
    media: dict[str, Any] | None
    conversation_id: str | None


class OutboundMessageSent(LeadFact):
    class_version = 1
    message_id: str
    message_type: str
    text: str | None
    origin: str | None
    conversation_id: str | None


class MessageStatusChanged(LeadFact):
    class_version = 1
    message_id: str
    status: str
    error_code: int | None
    error_title: str | None


class ConversationChanged(LeadFact):
    class_version = 1
    conversation_id: str
    change: str
    detail: dict[str, Any] | None


class ContactNameReported(LeadFact):
    class_version = 1
    name: str


class SarahPhaseReported(LeadFact):
    """v2: `extracted_data` is `ExtractedData.to_event()` (typed fields, unknown keys under
    `other`), `lead_score` an int, `lead_temperature` a Temperature value, or None.
    v1 stored Sarah's object as given, nulls and all."""

    class_version = 2
    chat_phase: str
    extracted_data: dict[str, Any]
    lead_score: int | None
    lead_temperature: str | None
    outcome: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        extracted = ExtractedData.from_sarah(state.get("extracted_data"))
        state["extracted_data"] = extracted.to_event()
        state["lead_score"] = score(state.get("lead_score"))
        state["lead_temperature"] = temperature(state.get("lead_temperature"))


class StatusRequested(LeadFact):
    class_version = 1
    status: str
    reason: str | None


class StatusHoldReleased(LeadFact):
    class_version = 1


class NoteAdded(LeadFact):
    class_version = 1
    content: str


class PersonalDataErased(LeadFact):
    class_version = 1
    reason: str


class ContactImported(LeadFact):
    """A contact row of the previous system (`leadledger import`, docs/import.md): the row
    as exported, its legacy status mapped by the legacy table, and `changed`, the field
    groups that differ from this legacy id's last import (only those speak in the views)."""

    class_version = 1
    legacy_id: str
    convex_id: str | None
    supabase_id: str | None
    changed: list[str]
    name: str | None
    legacy_status: str | None
    status: str | None
    temperature: str | None
    reason: str | None
    lead_score: int | None
    metadata: dict[str, Any] | None
    legacy_created_at: datetime | None
    legacy_updated_at: datetime | None
