"""`POST /imports`: the legacy import over HTTP, for exports that fit in one request body.

Two body forms, both bounded by `LEADLEDGER_MAX_BODY_BYTES` (larger files: the CLI):
- JSON: `{"contacts": "<file text>", "notes": "<file text>", "format": "jsonl"}`;
- multipart/form-data with file parts `contacts` and `notes` (format from the file name).
Either may carry `mapping` (TOML with a `[legacy_status]` table); else the config file's.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterator
from email.message import Message
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.legacy_import.mapping import (
    LegacyMapping,
    MappingError,
    load_mapping,
    mapping_from_files,
)
from adapters.legacy_import.readers import Format, RawRow, read_rows
from adapters.legacy_import.report import MAX_REJECTS_IN_MEMORY, Summary
from api.http.auth import principal_of, service_of, workspace_of
from api.http.body import parse_model, read_body
from api.http.errors import ApiError
from service_layer.service import LeadLedgerService


class ImportRequest(BaseModel):
    """The two export files as text (JSONL or CSV), as `leadledger import` reads them."""

    model_config = ConfigDict(extra="forbid")

    contacts: Annotated[str, Field(min_length=1, description="The contacts file's text")]
    notes: Annotated[str | None, Field(description="The contactNotes file's text")] = None
    format: Literal["jsonl", "csv"] = "jsonl"
    mapping: Annotated[
        str | None, Field(description="TOML with a [legacy_status] table (default: config)")
    ] = None


class RejectOut(BaseModel):
    file: str
    line: int
    reason: str
    detail: str
    raw: str


class RowCountsOut(BaseModel):
    read: int
    imported: int = Field(description="Rows that appended a fact (new or changed)")
    unchanged: int = Field(description="Rows already imported as they are")


class RejectedOut(BaseModel):
    total: int
    by_reason: dict[str, int]


class ImportSummaryOut(BaseModel):
    contacts: RowCountsOut
    notes: RowCountsOut
    leads_created: int
    events_appended: int
    duplicates_skipped: int
    rejected: RejectedOut


class ImportOut(BaseModel):
    summary: ImportSummaryOut
    rejects: list[RejectOut] = Field(description=f"The first {MAX_REJECTS_IN_MEMORY} rejects")
    rejects_truncated: bool


async def import_legacy(request: Request) -> Response:
    workspace = workspace_of(request)  # authorized before the handler ran
    service = service_of(request)
    raw = await read_body(request, service.settings.max_body_bytes)
    form = _parse(request.headers.get("content-type", ""), raw)
    mapping = _mapping(service, form.mapping)
    contacts = list(_rows("contacts", form.contacts, form.format))
    notes = list(_rows("notes", form.notes, form.format)) if form.notes else []
    importer = principal_of(request)
    summary = await run_in_threadpool(
        service.import_legacy, workspace, mapping, contacts, notes, importer
    )
    return JSONResponse(_answer(summary).model_dump(mode="json"))


def _rows(name: str, text: str, fmt: Format) -> Iterator[RawRow]:
    return read_rows(name, text.encode("utf-8").splitlines(keepends=True), fmt)


def _answer(summary: Summary) -> ImportOut:
    return ImportOut(
        summary=ImportSummaryOut.model_validate(summary.as_json()),
        rejects=[RejectOut(**r.as_json()) for r in summary.rejects],
        rejects_truncated=summary.rejected_total > len(summary.rejects),
    )


def _mapping(service: LeadLedgerService, text: str | None) -> LegacyMapping:
    try:
        if text is not None:
            return load_mapping(text)
        return mapping_from_files(service.settings.config_file)
    except MappingError as exc:
        raise ApiError(422, "validation_error", f"mapping: {exc}", "mapping") from None


def _parse(content_type: str, raw: bytes) -> ImportRequest:
    if content_type.lower().startswith("multipart/form-data"):
        return _multipart(content_type, raw)
    return parse_model(raw, ImportRequest)


def _multipart(content_type: str, raw: bytes) -> ImportRequest:
    """Parsed with the standard library (no extra dependency): parts by their name."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise ApiError(400, "bad_request", "multipart body without parts", "body")
    parts: dict[str, Message] = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = part
    if "contacts" not in parts:
        raise ApiError(422, "validation_error", "contacts: a file part is required", "contacts")
    fmt = _text(parts["format"]).strip() if "format" in parts else None
    if fmt is None:
        filename = parts["contacts"].get_filename() or ""
        fmt = "csv" if filename.lower().endswith(".csv") else "jsonl"
    if fmt not in ("jsonl", "csv"):
        raise ApiError(422, "validation_error", "format: must be jsonl or csv", "format")
    return ImportRequest(
        contacts=_text(parts["contacts"]) or "\n",
        notes=_text(parts["notes"]) if "notes" in parts else None,
        format=fmt,
        mapping=_text(parts["mapping"]) if "mapping" in parts else None,
    )


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        name = part.get_param("name", header="content-disposition")
        raise ApiError(400, "bad_request", f"{name}: not UTF-8 text", str(name)) from None
