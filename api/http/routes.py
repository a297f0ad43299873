"""Every endpoint of the API, declared once (routes and OpenAPI both come from here)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.endpoint import Endpoint, Param
from api.http.handlers import (
    erasure,
    imports,
    lead_commands,
    lead_queries,
    ledger_queries,
    webhooks,
)
from api.http.health import ReadyOut, readyz
from api.http.metrics import prometheus_metrics
from api.http.query_schemas import (
    AsOfParams,
    AuditPageOut,
    AuditParams,
    CommandResultOut,
    LeadListParams,
    LeadOut,
    LeadPageOut,
    MessagesOut,
    NotesOut,
    StatsOut,
    StatusHistoryOut,
)
from api.http.schemas import (
    AcceptedOut,
    CommandOut,
    EventsOut,
    HealthOut,
    NoteCommand,
    ReleaseCommand,
    SarahState,
    StatusCommand,
    UnhandledListOut,
)

LEAD_ID = Param(
    "lead_id",
    "path",
    "The lead's id (uuid5 of workspace and E.164 phone)",
    True,
    {"type": "string", "format": "uuid"},
)
IDEMPOTENCY = Param(
    "Idempotency-Key",
    "header",
    "Optional: a retried command with the same key is recorded once",
    False,
    {"type": "string", "minLength": 1, "maxLength": 200},
)
KAPSO_HEADERS = (
    Param("X-Webhook-Signature", "header", "hex HMAC-SHA256 of the raw body", True),
    Param("X-Webhook-Event", "header", "e.g. whatsapp.message.received"),
    Param("X-Webhook-Batch", "header", "'true' for a batched delivery"),
    Param("X-Idempotency-Key", "header", "Kapso's delivery id"),
)


def query_params(model: type[BaseModel]) -> tuple[Param, ...]:
    """OpenAPI query parameters from the model that validates them (one source of truth)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    params = []
    for name, prop in schema["properties"].items():
        prop = _inline(prop, defs)
        prop.pop("title", None)
        params.append(Param(name, "query", str(prop.pop("description", "")), False, prop))
    return tuple(params)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    # Parameters cannot point into the model's own $defs: copy the enums in place.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


async def healthz(_request: Request) -> Response:
    return JSONResponse(HealthOut().model_dump())


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET", "/healthz", healthz, "Process is alive", "operations", "none", response=HealthOut
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "Ready for traffic: the databases answer and the views keep up",
        "operations",
        "none",
        response=ReadyOut,
        description="200 when the event store and the views database answer and the "
        "projection lag is at most `LEADLEDGER_READY_MAX_LAG` events; otherwise 503 with "
        "`Retry-After` and this same body, `failed` naming the check.",
    ),
    Endpoint(
        "GET",
        "/metrics",
        prometheus_metrics,
        "Prometheus metrics (text exposition format)",
        "operations",
        "none",
        response_media="text/plain",
        description="Unauthenticated: expose it on a private interface or network only. "
        "Labels carry route templates, methods and statuses, never workspace data.",
    ),
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
    Endpoint(
        "GET",
        "/leads/{lead_id}/events",
        ledger_queries.lead_events,
        "The lead's ledger, in order",
        "ledger",
        "bearer",
        response=EventsOut,
        errors=(401, 404, 422),
        params=(LEAD_ID,),
    ),
    Endpoint(
        "GET",
        "/leads/by-phone/{phone}",
        ledger_queries.lead_by_phone,
        "A lead's contact view, found by any spelling of its phone",
        "leads",
        "bearer",
        response=LeadOut,
        errors=(401, 404, 422),
        params=(Param("phone", "path", "any spelling", True),),
    ),
    Endpoint(
        "GET",
        "/leads/by-user-id/{user_id}",
        ledger_queries.lead_by_user_id,
        "A lead's contact view, found by the WhatsApp business-scoped user id (BSUID)",
        "leads",
        "bearer",
        response=LeadOut,
        errors=(401, 404, 422),
        params=(Param("user_id", "path", "the BSUID as WhatsApp sends it", True),),
    ),
    Endpoint(
        "GET",
        "/deliveries/unhandled",
        ledger_queries.unhandled_deliveries,
        "Signed deliveries kept raw (unknown event types)",
        "ledger",
        "bearer",
        response=UnhandledListOut,
        errors=(401,),
    ),
    Endpoint(
        "GET",
        "/leads",
        lead_queries.list_leads,
        "List leads: filter, search, sort, page",
        "leads",
        "bearer",
        response=LeadPageOut,
        errors=(401, 422),
        params=query_params(LeadListParams),
        description="Keyset pages: pass "
        "`next_cursor` back as `cursor` with the same sort and order. Unknown "
        "parameters are ignored; a bad value is a 422 naming the parameter.",
    ),
    Endpoint(
        "GET",
        "/leads/{lead_id}",
        lead_queries.get_lead,
        "A lead's contact view (now, or as_of a time)",
        "leads",
        "bearer",
        response=LeadOut,
        errors=(401, 404, 422),
        params=(LEAD_ID, *query_params(AsOfParams)),
        description="With `as_of`, the "
        "lead is replayed from the events recorded until then under the active policy; "
        "404 if it did not exist yet.",
    ),
    Endpoint(
        "GET",
        "/leads/{lead_id}/status-history",
        lead_queries.status_history,
        "Status proposals and their outcomes, oldest first",
        "leads",
        "bearer",
        response=StatusHistoryOut,
        errors=(401, 404, 422),
        params=(LEAD_ID,),
    ),
    Endpoint(
        "GET",
        "/leads/{lead_id}/notes",
        lead_queries.lead_notes,
        "Notes, oldest first",
        "leads",
        "bearer",
        response=NotesOut,
        errors=(401, 404, 422),
        params=(LEAD_ID,),
    ),
    Endpoint(
        "GET",
        "/leads/{lead_id}/messages",
        lead_queries.lead_messages,
        "Message timeline by time, with delivery status",
        "leads",
        "bearer",
        response=MessagesOut,
        errors=(401, 404, 422),
        params=(LEAD_ID,),
    ),
    Endpoint(
        "GET",
        "/stats",
        lead_queries.lead_stats,
        "Lead counts by status and temperature",
        "leads",
        "bearer",
        response=StatsOut,
        errors=(401,),
    ),
    Endpoint(
        "GET",
        "/audit",
        lead_queries.audit_trail,
        "Who changed what: status decisions and notes across the workspace, newest first",
        "leads",
        "bearer",
        response=AuditPageOut,
        errors=(401, 422),
        params=query_params(AuditParams),
    ),
]
