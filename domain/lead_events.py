"""The stored shape of each Lead event: its fields, its version and its upcasters.

`domain.lead.Lead` adopts these classes (`NoteAdded = lead_events.NoteAdded`, or a nested
subclass that adds its `apply`), so they are stored under the topics `domain.lead:Lead.<Name>`.
Each fact names the key it dedups on (`fact_key`); `LeadFact.apply` remembers it.
Changing a shape means: bump `class_version`, add `upcast_v<N>_v<N+1>` (a pure static
method on the stored dict), keep old fixtures loading (docs/evolution.md). Upcasters run on
plain values, after any decryption, and must accept None where a value was erased.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from domain.extracted import ExtractedData, score, temperature
from domain.idempotency import request_fingerprint


class Registered(Aggregate.Created):
    class_version = 1
    workspace: str
    phone: str
    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None
    idempotency_key: str | None


class RemembersFacts(Protocol):
    """The aggregate as dedup sees it: fact keys and the version that recorded each, and
    per idempotency key what its request said (None: leads from before it was kept)."""

    version: int
    facts: dict[str, int]
    requests: dict[str, str] | None


class LeadFact(Aggregate.Event):
    """Base of every event after Registered: who said the fact, and when (`Said`)."""

    source: str
    actor: str
    received_at: datetime
    occurred_at: datetime | None
    idempotency_key: str | None

    def fact_key(self) -> str | None:
        """What a repeat of this fact is recognised by. Facts without a natural key
        (Sarah, Brain, humans) dedup on the caller's idempotency key, when given."""
        return idempotency_fact(self.idempotency_key)

    def apply(self, aggregate: RemembersFacts) -> None:
        # Shared by every fact (as eventsourcing's contentmanagement example does); kept
        # in snapshots, so dedup stays cheap for long histories.
        key = self.fact_key()
        if key is None:
            return
        aggregate.facts[key] = aggregate.version
        if key.startswith(IDEMPOTENCY_PREFIX):
            if aggregate.requests is None:
                aggregate.requests = {}
            aggregate.requests[key] = request_fingerprint(type(self).__name__, vars(self))


IDEMPOTENCY_PREFIX = "idem:"


def principal_unknown(state: dict[str, Any]) -> None:  # older: unknown, never guessed
    state["principal"] = None


def idempotency_fact(idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else f"{IDEMPOTENCY_PREFIX}{idempotency_key}"


def message_fact(message_id: str) -> str:
    return f"msg:{message_id}"


def message_status_fact(message_id: str, status: str) -> str:
    return f"status:{message_id}:{status}"


def conversation_fact(conversation_id: str, change: str, detail: dict[str, Any] | None) -> str:
    marker = (detail or {}).get("since_message_id") or ""
    return f"conv:{conversation_id}:{change}:{marker}"


def name_fact(name: str, occurred_at: datetime | None) -> str:
    """A contact name report by its spelling (a digest: the key need not hold the name) and
    its source time as sent, which a redelivery repeats; a report without one ("-") is
    known by its spelling alone."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"name:{'-' if occurred_at is None else occurred_at.isoformat()}:{digest}"


def import_fact(legacy_id: str) -> str:
    return f"import:{legacy_id}"


class InboundMessageReceived(LeadFact):
    """v2 keeps the whole message as WhatsApp/Kapso sent it: `wa_id` (the sender id exactly
    as sent), `content` ({<type>: <the type's object>}, verbatim), `referral` (the
    Click-to-WhatsApp ad), `context` (replied-to / forwarded) and `errors` (e.g. 131051 on
    an unsupported message). `text` and `media` stay: the typed fields the views use."""

    class_version = 2
    message_id: str
    message_type: str
    text: str | None
    media: dict[str, Any] | None
    conversation_id: str | None
    wa_id: str | None
    content: dict[str, Any] | None
    referral: dict[str, Any] | None
    context: dict[str, Any] | None
    errors: list[Any] | None

    def fact_key(self) -> str:
        return message_fact(self.message_id)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # v1 kept only text and media: the rest of the message was not recorded.
        for name in ("wa_id", "content", "referral", "context", "errors"):
            state[name] = None


class OutboundMessageSent(LeadFact):
    """v2: `content` as for inbound messages, `echo` (True: staff typed it in the WhatsApp
    Business app, `smb_message_echoes`; None: the source did not say) and `wa_id` (the
    recipient id exactly as sent)."""

    class_version = 2
    message_id: str
    message_type: str
    text: str | None
    origin: str | None
    conversation_id: str | None
    content: dict[str, Any] | None
    echo: bool | None
    wa_id: str | None

    def fact_key(self) -> str:
        return message_fact(self.message_id)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for name in ("content", "echo", "wa_id"):
            state[name] = None


class MessageStatusChanged(LeadFact):
    """v2: `errors` (the status's errors[] verbatim; `error_code`/`error_title` are the
    first one's), `recipient_id` (as sent) and `detail` (conversation, pricing,
    biz_opaque_callback_data… verbatim)."""

    class_version = 2
    message_id: str
    status: str
    error_code: int | None
    error_title: str | None
    errors: list[Any] | None
    recipient_id: str | None
    detail: dict[str, Any] | None

    def fact_key(self) -> str:
        return message_status_fact(self.message_id, self.status)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for name in ("errors", "recipient_id", "detail"):
            state[name] = None


class ConversationChanged(LeadFact):
    class_version = 1
    conversation_id: str
    change: str
    detail: dict[str, Any] | None

    def fact_key(self) -> str:
        return conversation_fact(self.conversation_id, self.change, self.detail)


class ContactNameReported(LeadFact):
    class_version = 1
    name: str

    def fact_key(self) -> str | None:
        # Every delivery repeats the name: only a new spelling is recorded (Lead), and a
        # redelivery of a recorded report, known by its name and time, never again.
        return name_fact(self.name, self.occurred_at) if self.name else None


class SarahPhaseReported(LeadFact):
    """v2: `extracted_data` is `ExtractedData.to_event()` (typed fields, unknown keys under
    `other`), `lead_score` an int, `lead_temperature` a Temperature value, or None.
    v1 stored Sarah's object as given, nulls and all. v3: `principal` (the API key's)."""

    class_version = 3
    chat_phase: str
    extracted_data: dict[str, Any]
    lead_score: int | None
    lead_temperature: str | None
    outcome: str | None
    principal: dict[str, Any] | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        extracted = ExtractedData.from_sarah(state.get("extracted_data"))
        state["extracted_data"] = extracted.to_event()
        state["lead_score"] = score(state.get("lead_score"))
        state["lead_temperature"] = temperature(state.get("lead_temperature"))

    upcast_v2_v3 = staticmethod(principal_unknown)


class StatusRequested(LeadFact):
    """v2 (and the three below): `principal`, the API key's (docs/security.md)."""

    class_version = 2
    status: str
    reason: str | None
    principal: dict[str, Any] | None

    upcast_v1_v2 = staticmethod(principal_unknown)


class StatusHoldReleased(LeadFact):
    class_version = 2
    principal: dict[str, Any] | None

    upcast_v1_v2 = staticmethod(principal_unknown)


class NoteAdded(LeadFact):
    class_version = 2
    content: str
    principal: dict[str, Any] | None

    upcast_v1_v2 = staticmethod(principal_unknown)


class PersonalDataErased(LeadFact):
    class_version = 2
    reason: str
    principal: dict[str, Any] | None

    upcast_v1_v2 = staticmethod(principal_unknown)

    def fact_key(self) -> None:
        return None  # once erased, always: the aggregate's `erased` flag dedups it


class ContactImported(LeadFact):
    """A contact row of the previous system (`leadledger import`, docs/import.md), as the
    row said it, and `changed`, the field groups that differ from this legacy id's last
    import (only those speak in the views).

    v2: `legacy_status` is the value as the file wrote it; the views map it with the
    policy's legacy status table. v1 stored it lower-cased with the mapping the import
    applied (`status`, `temperature`, `reason`); its upcaster keeps that mapping in
    `mapped_at_import`, so an old row keeps its meaning whatever today's table says.
    v3: `principal`, the API key that imported it (None: `leadledger import`)."""

    class_version = 3
    legacy_id: str
    convex_id: str | None
    supabase_id: str | None
    changed: list[str]
    name: str | None
    legacy_status: str | None
    lead_score: int | None
    metadata: dict[str, Any] | None
    legacy_created_at: datetime | None
    legacy_updated_at: datetime | None
    # {"status", "temperature"} the import mapped to (v1 rows only); None: map on read.
    mapped_at_import: dict[str, str | None] | None
    principal: dict[str, Any] | None

    def fact_key(self) -> str:
        return import_fact(self.legacy_id)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        status, temperature = state.pop("status", None), state.pop("temperature", None)
        state.pop("reason", None)  # mapping.reason(legacy_status): derived again on read
        mapped = None if status is None else {"status": status, "temperature": temperature}
        state["mapped_at_import"] = mapped

    upcast_v2_v3 = staticmethod(principal_unknown)


def identity_link_fact(kind: str, identity: str) -> str:
    return f"link:{kind}:{identity}"


class IdentityLinked(LeadFact):
    """A source named this person by another id too (docs/read-models.md, "One person, many
    ids"): `identity` (canonical: E.164, BSUID or "@name") of `kind` is the same person,
    because of `reason` ("seen_together": one delivery carried both; "number_changed":
    WhatsApp said the number changed). `held_by` is None on the lead that holds the
    person's history; on the lead of the other id it names that lead, whose id resolution
    then follows. `merged_facts`: when the other id's lead held a history of its own, the
    dedup keys of its facts, so that a redelivery of one of them appends nothing here."""

    class_version = 1
    identity: str
    kind: str
    reason: str
    held_by: str | None
    merged_facts: list[str] | None

    def fact_key(self) -> str:
        return identity_link_fact(self.kind, self.identity)
