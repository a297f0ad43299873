"""Read-model tables, one set per generation (blue/green): rebuilds fill a new set, then the
active generation is switched in one transaction, so readers never see a half-built view."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from adapters.utc_datetime import UTCDateTime

PROJECTION = "lead_views"
PREFIX = "ll_"
# The view tables' layout: 2 added the erasure columns (docs/erasure.md), 3 a person's
# other ids and the content kept whole (ad referrals, Flow answers, locations, reactions,
# edits); a phone is no longer unique (a linked id's lead and its holder both show it);
# 4 the change feed (docs/changes.md); 5 the source time of each merged value
# (`source_times`, replacing `conversation_at`) and the casefolded text `?q=` searches
# (`search_text`, projections/search.py).
LAYOUT = 5

state_metadata = MetaData()
projection_state = Table(
    f"{PREFIX}projection_state",
    state_metadata,
    Column("name", String(64), primary_key=True),
    Column("active_generation", Integer, nullable=False),
    Column("active_policy", Text, nullable=False),
    Column("building_generation", Integer),
    Column("building_policy", Text),
    Column("touched_at", UTCDateTime),
)


@dataclass(frozen=True)
class ViewTables:
    generation: int
    metadata: MetaData
    contacts: Table
    history: Table
    notes: Table
    messages: Table
    tracking: Table
    failures: Table
    snapshots: Table  # the contact view every 100 events of a lead (fast `as_of`)
    changes: Table  # the change feed (domain/reducer/changes.py, docs/changes.md)

    @property
    def all(self) -> list[Table]:
        return [
            self.contacts,
            self.history,
            self.notes,
            self.messages,
            self.tracking,
            self.failures,
            self.snapshots,
            self.changes,
        ]


@lru_cache(maxsize=16)
def view_tables(generation: int) -> ViewTables:
    md = MetaData()
    # A new LAYOUT gets new tables, which the follower fills from the ledger on first
    # start: no migration to run.
    g = f"_l{LAYOUT}_g{generation}"
    contacts = Table(
        f"{PREFIX}contacts{g}",
        md,
        Column("lead_id", String(36), primary_key=True),
        Column("workspace", Text, nullable=False),
        Column("phone", String(40)),  # NULL once erased
        *[
            Column(n, Text)
            for n in (
                "name",
                "sarah_name",
                "business_type",
                "domisili",
                "business_duration",
                "priority",
                "urgency_level",
                "lead_temperature",
                "closing_technique_used",
                "objection_raised",
                "erased_by",
                "erasure_reason",
                "lead_status",
                "status_source",
                "status_updated_by",
                "chat_phase",
                "conversation_status",
                "wa_user_id",
                "username",
            )
        ],
        Column("held_by", String(36)),
        *[
            Column(n, JSON)
            for n in (
                "linked_identities",
                "first_referral",
                "last_referral",
                "flow_answers",
                "last_location",
            )
        ],
        Column("pain_points", JSON),
        Column("extracted", JSON, nullable=False),
        Column("source_times", JSON, nullable=False),
        Column("search_text", Text),  # not a view field: written by the writer
        Column("lead_score", Integer),
        Column("status_held", Boolean, nullable=False),
        *[
            Column(n, UTCDateTime)
            for n in (
                "status_updated_at",
                "created_at",
                "updated_at",
                "last_message_at",
                "last_inbound_at",
                "last_outbound_at",
                "last_contact_at",
                "erased_at",
            )
        ],
        Column("inbound_count", Integer, nullable=False),
        Column("outbound_count", Integer, nullable=False),
        Column("version", Integer, nullable=False),
        Index(f"ix_contacts_phone{g}", "workspace", "phone"),
        Index(f"ix_contacts_user{g}", "workspace", "wa_user_id"),
        Index(f"ix_contacts_held_by{g}", "held_by"),
        Index(f"ix_contacts_status{g}", "workspace", "lead_status"),
        Index(f"ix_contacts_temp{g}", "workspace", "lead_temperature"),
        Index(f"ix_contacts_last_msg{g}", "workspace", "last_message_at", "lead_id"),
        Index(f"ix_contacts_updated{g}", "workspace", "updated_at", "lead_id"),
        Index(f"ix_contacts_score{g}", "workspace", "lead_score", "lead_id"),
    )
    history = Table(
        f"{PREFIX}status_history{g}",
        md,
        Column("lead_id", String(36), nullable=False),
        Column("position", Integer, nullable=False),
        Column("notification_id", Integer),
        Column("workspace", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("source", Text, nullable=False),
        Column("actor", Text, nullable=False),
        Column("from_status", Text),
        Column("to_status", Text),
        Column("reason", Text),
        Column("outcome", Text, nullable=False),
        Column("outcome_reason", Text),
        Column("origin", Text, nullable=False),
        *_principal_columns(),
        PrimaryKeyConstraint("lead_id", "position", name=f"pk_history{g}"),
        Index(f"ix_history_ws_at{g}", "workspace", "at"),
        Index(f"ix_history_ws_actor{g}", "workspace", "source", "actor"),
        Index(f"ix_history_ws_principal{g}", "workspace", "principal"),
    )
    notes = Table(
        f"{PREFIX}notes{g}",
        md,
        Column("lead_id", String(36), nullable=False),
        Column("position", Integer, nullable=False),
        Column("workspace", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("content", Text, nullable=False),
        *_principal_columns(),
        PrimaryKeyConstraint("lead_id", "position", name=f"pk_notes{g}"),
    )
    messages = Table(
        f"{PREFIX}messages{g}",
        md,
        Column("lead_id", String(36), nullable=False),
        Column("message_id", Text, nullable=False),
        Column("workspace", Text, nullable=False),
        Column("direction", Text),
        Column("type", Text),
        Column("text", Text),
        Column("status", Text),
        Column("error_code", Integer),
        Column("at", UTCDateTime),
        Column("status_at", UTCDateTime),
        Column("error_title", Text),
        Column("echo", Boolean, nullable=False),
        Column("edited", Boolean, nullable=False),
        Column("original_text", Text),
        Column("deleted", Boolean, nullable=False),
        Column("reactions", JSON),
        PrimaryKeyConstraint("lead_id", "message_id", name=f"pk_messages{g}"),
        Index(f"ix_messages_at{g}", "lead_id", "at"),
    )
    tracking = Table(
        f"{PREFIX}tracking{g}",
        md,
        Column("id", Integer, primary_key=True),
        Column("position", Integer, nullable=False),
        Column("updated_at", UTCDateTime),
    )
    failures = Table(
        f"{PREFIX}failures{g}",
        md,
        Column("notification_id", Integer, primary_key=True),
        Column("lead_id", String(36), nullable=False),
        Column("error", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
    )
    snapshots = Table(
        f"{PREFIX}view_snapshots{g}",
        md,
        Column("lead_id", String(36), nullable=False),
        Column("position", Integer, nullable=False),
        Column("recorded_at", UTCDateTime, nullable=False),
        Column("view", JSON),  # NULL: the store's clock went back here (projections/snapshots.py)
        PrimaryKeyConstraint("lead_id", "position", name=f"pk_view_snapshots{g}"),
    )
    changes = Table(
        f"{PREFIX}changes{g}",
        md,
        Column("position", Integer, nullable=False),
        Column("seq", Integer, nullable=False),
        Column("lead_id", String(36), nullable=False),
        Column("workspace", Text, nullable=False),
        Column("type", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("recorded_at", UTCDateTime, nullable=False),
        Column("source", Text),
        Column("actor", Text),
        Column("principal", JSON),  # the API key's principal, as the event records it
        Column("decision", JSON),
        Column("data", JSON, nullable=False),
        Column("personal", JSON),  # NULL once the lead is erased
        PrimaryKeyConstraint("position", "seq", name=f"pk_changes{g}"),
        Index(f"ix_changes_ws{g}", "workspace", "position", "seq"),
        Index(f"ix_changes_lead{g}", "lead_id", "position", "seq"),
    )
    return ViewTables(
        generation, md, contacts, history, notes, messages, tracking, failures, snapshots, changes
    )


def _principal_columns() -> list[Column[str]]:
    """Who held the API key (docs/security.md); NULL: no key, or an older event."""
    return [Column(name, Text) for name in ("principal", "principal_role", "key_id")]
