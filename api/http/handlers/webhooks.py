"""POST /webhook/kapso and GET/POST /webhook/meta: verify, translate, record, then answer."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from adapters.webhooks.kapso import translate_kapso
from adapters.webhooks.meta import translate_meta
from adapters.webhooks.signatures import matching_workspaces
from adapters.webhooks.translation import TranslatedItem
from api.http.auth import service_of
from api.http.body import parse_json, read_body
from api.http.errors import ApiError, signature_rejected
from api.http.schemas import AcceptedOut, FactOut, PartOut
from service_layer.errors import IngestTimeoutError
from service_layer.ingest import Delivery

# Headers worth keeping with a raw (unhandled) delivery; never the signature.
_KEPT_HEADERS = (
    "x-webhook-event",
    "x-idempotency-key",
    "x-webhook-payload-version",
    "x-webhook-batch",
)


async def kapso_webhook(request: Request) -> Response:
    service = service_of(request)
    raw = await read_body(request, service.settings.max_body_bytes)
    signed_for = matching_workspaces(
        request.headers.get("x-webhook-signature"), raw, service.workspaces.kapso_secrets()
    )
    if not signed_for:
        raise signature_rejected("missing or invalid X-Webhook-Signature")
    body = parse_json(raw)
    received_at = datetime.now(UTC)
    idempotency_key = request.headers.get("x-idempotency-key")
    # Past the signature and the JSON, nothing is refused: each part is recorded or kept raw.
    items = translate_kapso(
        body,
        request.headers.get("x-webhook-event"),
        request.headers.get("x-webhook-batch", "").lower() == "true",
        idempotency_key,
        received_at,
        service.workspaces.default_region,
    )
    return await _record(request, "kapso", items, signed_for, received_at)


async def meta_verify(request: Request) -> Response:
    """The WhatsApp Cloud subscription handshake: echo hub.challenge for our verify token."""
    service = service_of(request)
    params = request.query_params
    if params.get("hub.mode") != "subscribe":
        raise ApiError(400, "bad_request", "hub.mode must be 'subscribe'", "hub.mode")
    token = params.get("hub.verify_token", "")
    if not any(_same(token, known) for known in service.workspaces.meta_verify_tokens()):
        raise ApiError(403, "forbidden", "hub.verify_token does not match", "hub.verify_token")
    return PlainTextResponse(params.get("hub.challenge", ""))


async def meta_webhook(request: Request) -> Response:
    service = service_of(request)
    raw = await read_body(request, service.settings.max_body_bytes)
    header = request.headers.get("x-hub-signature-256")
    if not header or not header.lower().startswith("sha256="):
        raise signature_rejected("missing or malformed X-Hub-Signature-256")
    signed_for = matching_workspaces(header, raw, service.workspaces.meta_secrets())
    if not signed_for:
        raise signature_rejected("invalid X-Hub-Signature-256")
    body = parse_json(raw)
    received_at = datetime.now(UTC)
    items = translate_meta(body, received_at, service.workspaces.default_region)
    return await _record(request, "meta", items, signed_for, received_at)


async def _record(
    request: Request,
    channel: str,
    items: list[TranslatedItem],
    signed_for: set[str],
    received_at: datetime,
) -> Response:
    headers = {h: request.headers[h] for h in _KEPT_HEADERS if h in request.headers}
    service = service_of(request)
    delivery = Delivery(channel, items, signed_for, headers, received_at)
    try:
        # Kapso waits 10 s: past the deadline answer 503 so it retries. If the write still
        # lands afterwards, the retry is deduplicated: nothing lost, nothing doubled.
        ingested = await asyncio.wait_for(
            run_in_threadpool(service.ingest_delivery, delivery),
            timeout=service.settings.ingest_timeout,
        )
    except TimeoutError:
        raise IngestTimeoutError from None
    answer = AcceptedOut(
        facts=[FactOut(lead_id=f.lead_id, fact=f.fact) for f in ingested.facts],
        kept_unhandled=ingested.kept_unhandled,
        parts=[
            PartOut(
                part=p.part,
                kind=p.kind,
                outcome=p.outcome,
                facts=[FactOut(lead_id=f.lead_id, fact=f.fact) for f in p.facts],
                reason=p.reason,
            )
            for p in ingested.parts
        ],
    )
    return JSONResponse(answer.model_dump(mode="json"))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
