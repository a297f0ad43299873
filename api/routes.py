"""Every endpoint of the API, declared once (routes and OpenAPI both come from here)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import commands, ledger_queries, webhooks
from api.endpoint import Endpoint, Param
from api.schemas import (
    AcceptedOut,
    CommandOut,
    EventsOut,
    HealthOut,
    LeadRefOut,
    NoteCommand,
    ReleaseCommand,
    SarahState,
    StatusCommand,
    UnhandledListOut,
)

LEAD_ID = Param("lead_id", "path", "The lead's id (uuid5 of workspace and E.164 phone)", True,
                {"type": "string", "format": "uuid"})
IDEMPOTENCY = Param("Idempotency-Key", "header", "Optional: a retried command with the same key "
                    "is recorded once", False, {"type": "string", "maxLength": 200})
KAPSO_HEADERS = (
    Param("X-Webhook-Signature", "header", "hex HMAC-SHA256 of the raw body", True),
    Param("X-Webhook-Event", "header", "e.g. whatsapp.message.received"),
    Param("X-Webhook-Batch", "header", "'true' for a batched delivery"),
    Param("X-Idempotency-Key", "header", "Kapso's delivery id"),
)


async def healthz(request: Request) -> Response:
    return JSONResponse(HealthOut().model_dump())


ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/healthz", healthz, "Process is alive", "operations", "none",
             response=HealthOut),
    Endpoint("POST", "/webhook/kapso", webhooks.kapso_webhook, "Kapso webhook (payload v2, "
             "single or batch)", "webhooks", "kapso_signature", response=AcceptedOut,
             errors=(400, 401, 413, 422), params=KAPSO_HEADERS),
    Endpoint("GET", "/webhook/meta", webhooks.meta_verify, "WhatsApp Cloud verification "
             "handshake", "webhooks", "none", response_media="text/plain", errors=(400, 403),
             params=(Param("hub.mode", "query", "subscribe", True),
                     Param("hub.verify_token", "query", "the configured verify token", True),
                     Param("hub.challenge", "query", "echoed back", True))),
    Endpoint("POST", "/webhook/meta", webhooks.meta_webhook, "WhatsApp Cloud API webhook",
             "webhooks", "meta_signature", response=AcceptedOut, errors=(400, 401, 413, 422),
             params=(Param("X-Hub-Signature-256", "header", "sha256=<hex HMAC>", True),)),
    Endpoint("POST", "/sarah/state", commands.sarah_state, "Sarah's phase update (creates "
             "the lead if needed)", "commands", "bearer", request=SarahState,
             response=CommandOut, errors=(400, 401, 413, 422), params=(IDEMPOTENCY,)),
    Endpoint("POST", "/leads/{lead_id}/status", commands.request_status, "Request a status "
             "(Brain or human)", "commands", "bearer", request=StatusCommand,
             response=CommandOut, errors=(400, 401, 404, 413, 422), params=(LEAD_ID, IDEMPOTENCY)),
    Endpoint("POST", "/leads/{lead_id}/status/release", commands.release_status, "Release a "
             "human status hold", "commands", "bearer", request=ReleaseCommand,
             response=CommandOut, errors=(400, 401, 404, 413, 422), params=(LEAD_ID, IDEMPOTENCY)),
    Endpoint("POST", "/leads/{lead_id}/notes", commands.add_note, "Add a note", "commands",
             "bearer", request=NoteCommand, response=CommandOut,
             errors=(400, 401, 404, 413, 422), params=(LEAD_ID, IDEMPOTENCY)),
    Endpoint("GET", "/leads/{lead_id}/events", ledger_queries.lead_events, "The lead's "
             "ledger, in order", "ledger", "bearer", response=EventsOut, errors=(401, 404, 422),
             params=(LEAD_ID,)),
    Endpoint("GET", "/leads/by-phone/{phone}", ledger_queries.lead_by_phone, "Find a lead by "
             "any spelling of its phone", "ledger", "bearer", response=LeadRefOut,
             errors=(401, 404, 422), params=(Param("phone", "path", "any spelling", True),)),
    Endpoint("GET", "/deliveries/unhandled", ledger_queries.unhandled_deliveries, "Signed "
             "deliveries kept raw (unknown event types)", "ledger", "bearer",
             response=UnhandledListOut, errors=(401,)),
]
