"""The endpoints that record facts: the webhooks, Sarah's reports, commands, imports, erasure."""

from __future__ import annotations

from api.http.endpoint import Endpoint, Param
from api.http.handlers import erasure, imports, lead_commands, webhooks
from api.http.query_schemas import CommandResultOut
from api.http.routes.params import IDEMPOTENCY, KAPSO_HEADERS, LEAD_ID
from api.http.schemas import (
    AcceptedOut,
    CommandOut,
    NoteCommand,
    ReleaseCommand,
    SarahState,
    StatusCommand,
)
from domain.principal import Permission

WRITES: list[Endpoint] = [
    Endpoint(
        "POST",
        "/webhook/kapso",
        webhooks.kapso_webhook,
        "Kapso webhook (payload v2, single or batch)",
        "webhooks",
        "kapso_signature",
        response=AcceptedOut,
        errors=(400, 401, 413, 422),
        params=KAPSO_HEADERS,
    ),
    Endpoint(
        "GET",
        "/webhook/meta",
        webhooks.meta_verify,
        "WhatsApp Cloud verification handshake",
        "webhooks",
        "none",
        response_media="text/plain",
        errors=(400, 403),
        params=(
            Param(
                "hub.mode", "query", "subscribe", True, {"type": "string", "enum": ["subscribe"]}
            ),
            Param("hub.verify_token", "query", "the configured verify token", True),
            Param("hub.challenge", "query", "echoed back", True),
        ),
    ),
    Endpoint(
        "POST",
        "/webhook/meta",
        webhooks.meta_webhook,
        "WhatsApp Cloud API webhook",
        "webhooks",
        "meta_signature",
        response=AcceptedOut,
        errors=(400, 401, 413, 422),
        params=(Param("X-Hub-Signature-256", "header", "sha256=<hex HMAC>", True),),
    ),
    Endpoint(
        "POST",
        "/sarah/state",
        lead_commands.sarah_state,
        "Sarah's phase update (creates the lead if needed)",
        "commands",
        "bearer",
        permission=Permission.SARAH,
        request=SarahState,
        response=CommandOut,
        errors=(400, 401, 413, 422),
        params=(IDEMPOTENCY,),
    ),
    Endpoint(
        "POST",
        "/leads/{lead_id}/status",
        lead_commands.request_status,
        "Request a status (Brain or human)",
        "commands",
        "bearer",
        permission=Permission.STATUS,
        request=StatusCommand,
        response=CommandResultOut,
        errors=(400, 401, 404, 413, 422),
        params=(LEAD_ID, IDEMPOTENCY),
    ),
    Endpoint(
        "POST",
        "/leads/{lead_id}/status/release",
        lead_commands.release_status,
        "Release a human status hold",
        "commands",
        "bearer",
        permission=Permission.RELEASE,
        request=ReleaseCommand,
        response=CommandResultOut,
        errors=(400, 401, 404, 413, 422),
        params=(LEAD_ID, IDEMPOTENCY),
    ),
    Endpoint(
        "POST",
        "/leads/{lead_id}/notes",
        lead_commands.add_note,
        "Add a note",
        "commands",
        "bearer",
        permission=Permission.NOTES,
        request=NoteCommand,
        response=CommandResultOut,
        errors=(400, 401, 404, 413, 422),
        params=(LEAD_ID, IDEMPOTENCY),
    ),
    Endpoint(
        "POST",
        "/imports",
        imports.import_legacy,
        "Import contacts and notes exported from the previous system",
        "commands",
        "bearer",
        permission=Permission.IMPORT,
        request=imports.ImportRequest,
        response=imports.ImportOut,
        errors=(400, 401, 413, 422),
        description="The files' text in a JSON body, or multipart/form-data parts "
        "`contacts`, `notes` (and `mapping`). Bounded by `LEADLEDGER_MAX_BODY_BYTES`: import "
        "larger files with `leadledger import`. Re-importing adds nothing; bad rows come "
        "back as `rejects` with their line numbers and never stop the good ones.",
    ),
    Endpoint(
        "DELETE",
        "/leads/{lead_id}/personal-data",
        erasure.erase_personal_data,
        "Erase the person's data (crypto-shredding; docs/erasure.md)",
        "commands",
        "bearer",
        permission=Permission.ERASURE,
        request=erasure.ErasureCommand,
        response=erasure.ErasureOut,
        errors=(400, 401, 404, 413, 422),
        params=(LEAD_ID,),
        description="Destroys the lead's key: its phone, names, message texts, notes and "
        "extracted data become unreadable in the ledger, the views, every rebuild and every "
        "backup. The audit skeleton and the erasure (who, when, why) stay. Idempotent: a "
        "repeat answers 200 with the first erasure (`appended: false`). A new message from "
        "the same phone starts a new, unlinked lead. 202 (`views_settled: false`): the "
        "erasure is committed and the key destroyed, but the views were not blanked within "
        "the wait; repeat the request until it answers 200.",
        accepted="Erased; the views have not been blanked yet (`views_settled: false`)",
    ),
]
