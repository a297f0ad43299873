"""The endpoints that read: the ledger itself and the read models."""

from __future__ import annotations

from api.http.endpoint import Endpoint, Param
from api.http.handlers import lead_queries, ledger_queries
from api.http.query_schemas import (
    AsOfParams,
    AuditPageOut,
    AuditParams,
    LeadListParams,
    LeadOut,
    LeadPageOut,
    MessagesOut,
    NotesOut,
    StatsOut,
    StatusHistoryOut,
)
from api.http.routes.params import LEAD_ID, query_params
from api.http.schemas import EventsOut, EventsParams, UnhandledListOut, UnhandledParams
from domain.principal import Permission

READS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/leads/{lead_id}/events",
        ledger_queries.lead_events,
        "The lead's ledger, in order",
        "ledger",
        "bearer",
        permission=Permission.READ,
        response=EventsOut,
        errors=(401, 404, 422),
        params=(LEAD_ID, *query_params(EventsParams)),
        description="Pages of at most `limit` events, read from the store a page at a "
        "time: pass `next_after` back as `after` until it is null.",
    ),
    Endpoint(
        "GET",
        "/leads/by-phone/{phone}",
        ledger_queries.lead_by_phone,
        "A lead's contact view, found by any spelling of its phone",
        "leads",
        "bearer",
        permission=Permission.READ,
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
        permission=Permission.READ,
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
        permission=Permission.READ,
        response=UnhandledListOut,
        errors=(401, 422),
        params=query_params(UnhandledParams),
        description="The key's workspace only, filtered in the database before the page "
        "is cut; pass `next_after` back as `after` until it is null.",
    ),
    Endpoint(
        "GET",
        "/leads",
        lead_queries.list_leads,
        "List leads: filter, search, sort, page",
        "leads",
        "bearer",
        permission=Permission.READ,
        response=LeadPageOut,
        errors=(401, 422),
        params=query_params(LeadListParams),
        description="Keyset pages: pass "
        "`next_cursor` back as `cursor` with the same sort and order. An unknown "
        "parameter is a 400 naming it; a bad value is a 422 naming the parameter. `q` "
        "matches case-insensitively in any script, and a phone typed the local way "
        "(`0819…`) like its international spelling.",
    ),
    Endpoint(
        "GET",
        "/leads/{lead_id}",
        lead_queries.get_lead,
        "A lead's contact view (now, or as_of a time)",
        "leads",
        "bearer",
        permission=Permission.READ,
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
        permission=Permission.READ,
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
        permission=Permission.READ,
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
        permission=Permission.READ,
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
        permission=Permission.READ,
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
        permission=Permission.READ,
        response=AuditPageOut,
        errors=(401, 422),
        params=query_params(AuditParams),
    ),
]
