"""From a read row to the command that records it, or to the reason it is rejected.

A row is judged as a whole before anything of it is recorded: a contact row becomes one
`ImportContact` (one event at most), a note row one `AddNote`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import ValidationError

from adapters.legacy_import.mapping import LegacyMapping
from adapters.legacy_import.readers import RawRow
from adapters.legacy_import.report import Reject
from adapters.legacy_import.rows import LegacyContact, LegacyNote
from domain.commands import AddNote, ImportContact
from domain.envelope import Said
from domain.legacy import LegacyContactRow
from domain.phone import InvalidPhoneError, normalise_phone
from domain.values import Source

# The legacy app wrote bot notes as user "sarah-bot": in leadledger they are Sarah's.
NOTE_ACTORS = {"sarah-bot": "sarah"}
IMPORT_ACTOR = "import"


@dataclass(frozen=True)
class PlannedContact:
    row: RawRow
    command: ImportContact
    ids: list[str]  # the legacy ids notes may use for this contact


@dataclass(frozen=True)
class PlannedNote:
    row: RawRow
    note: LegacyNote


def reject(row: RawRow, reason: str, detail: str) -> Reject:
    return Reject(row.file, row.line, reason, detail, row.raw)


def unreadable(row: RawRow) -> Reject:
    assert row.error is not None
    reason = "broken_csv" if row.error.startswith("broken CSV") else "broken_json"
    return reject(row, reason, row.error)


def validation_detail(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "row"
    return f"{where}: {first['msg']}"


def plan_contact(
    row: RawRow, mapping: LegacyMapping, region: str, received_at: datetime
) -> PlannedContact | Reject:
    if row.data is None:
        return unreadable(row)
    try:
        contact = LegacyContact.model_validate(row.data)
    except ValidationError as exc:
        return reject(row, "invalid_row", validation_detail(exc))
    try:
        phone = normalise_phone(contact.phone or "", region)
    except InvalidPhoneError as exc:
        return reject(row, "unusable_phone", f"phone: {exc}")
    legacy = contact.lead_status
    mapped = mapping.map(legacy) if legacy else None
    if legacy is None or mapped is None:
        known = ", ".join(sorted(mapping.table))
        return reject(row, "unknown_status", f"lead_status: {legacy!r} is not one of {known}")
    said = Said(
        Source.IMPORT.value,
        IMPORT_ACTOR,
        received_at,
        occurred_at=contact.updated_at or contact.created_at,
    )
    legacy_row = LegacyContactRow(
        legacy_id=contact.convex_id or contact.supabase_id or f"phone:{phone}",
        convex_id=contact.convex_id,
        supabase_id=contact.supabase_id,
        name=contact.kapso_name or None,
        legacy_status=legacy,  # as written: the views map it (docs/legacy-mapping.md)
        lead_score=contact.lead_score,
        metadata=contact.metadata,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )
    command = ImportContact(phone, said, row=legacy_row)
    return PlannedContact(row, command, contact.ids or [legacy_row.legacy_id])


def parse_note(row: RawRow) -> PlannedNote | Reject:
    if row.data is None:
        return unreadable(row)
    try:
        # Notes wait in memory for their contact: keep the raw line, not the parsed dict.
        return PlannedNote(replace(row, data=None), LegacyNote.model_validate(row.data))
    except ValidationError as exc:
        return reject(row, "invalid_row", validation_detail(exc))


def note_command(planned: PlannedNote, phone: str, received_at: datetime) -> AddNote:
    note = planned.note
    digest = hashlib.sha256(note.content.encode()).hexdigest()[:16]
    # Keyed on the note's id and its text: re-imports add nothing, an edited note is new.
    when = "" if note.created_at is None else str(int(note.created_at.timestamp() * 1000))
    ident = note.legacy_id or f"{note.contact_id}@{when}"
    said = Said(
        Source.IMPORT.value,
        NOTE_ACTORS.get(note.user_id, note.user_id),
        received_at,
        occurred_at=note.created_at,
        idempotency_key=f"import:note:{ident}:{digest}",
    )
    return AddNote(phone, said, content=note.content)
