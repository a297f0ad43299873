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
from adapters.webhooks.translation import TranslatedItem, TranslationError
from api.http.auth import services_of
from api.http.body import parse_json, read_body
from api.http.errors import ApiError, unauthorized
from api.http.ingest import ingest

# Headers worth keeping with a raw (unhandled) delivery; never the signature.
_KEPT_HEADERS = (
    "x-webhook-event",
    "x-idempotency-key",
    "x-webhook-payload-version",
    "x-webhook-batch",
)


async def kapso_webhook(request: Request) -> Response:
    services = services_of(request)
    raw = await read_body(request, services.settings.max_body_bytes)
    signed_for = matching_workspaces(
        request.headers.get("x-webhook-signature"), raw, services.workspaces.kapso_secrets()
    )
    if not signed_for:
        raise unauthorized("missing or invalid X-Webhook-Signature")
    body = parse_json(raw)
    received_at = datetime.now(UTC)
    idempotency_key = request.headers.get("x-idempotency-key")
    try:
        items = translate_kapso(
            body,
            request.headers.get("x-webhook-event"),
            request.headers.get("x-webhook-batch", "").lower() == "true",
            idempotency_key,
            received_at,
            services.workspaces.default_region,
        )
    except TranslationError as exc:
        raise ApiError(422, "validation_error", str(exc), exc.field) from None
    return await _record(request, "kapso", items, signed_for, received_at)


async def meta_verify(request: Request) -> Response:
    """The WhatsApp Cloud subscription handshake: echo hub.challenge for our verify token."""
    services = services_of(request)
    params = request.query_params
    if params.get("hub.mode") != "subscribe":
        raise ApiError(400, "bad_request", "hub.mode must be 'subscribe'", "hub.mode")
    token = params.get("hub.verify_token", "")
    if not any(_same(token, known) for known in services.workspaces.meta_verify_tokens()):
        raise ApiError(403, "forbidden", "hub.verify_token does not match", "hub.verify_token")
    return PlainTextResponse(params.get("hub.challenge", ""))


async def meta_webhook(request: Request) -> Response:
    services = services_of(request)
    raw = await read_body(request, services.settings.max_body_bytes)
    header = request.headers.get("x-hub-signature-256")
    if not header or not header.lower().startswith("sha256="):
        raise unauthorized("missing or malformed X-Hub-Signature-256")
    signed_for = matching_workspaces(header, raw, services.workspaces.meta_secrets())
    if not signed_for:
        raise unauthorized("invalid X-Hub-Signature-256")
    body = parse_json(raw)
    received_at = datetime.now(UTC)
    try:
        items = translate_meta(body, received_at, services.workspaces.default_region)
    except TranslationError as exc:
        raise ApiError(422, "validation_error", str(exc), exc.field) from None
    return await _record(request, "meta", items, signed_for, received_at)


async def _record(
    request: Request,
    channel: str,
    items: list[TranslatedItem],
    signed_for: set[str],
    received_at: datetime,
) -> Response:
    headers = {h: request.headers[h] for h in _KEPT_HEADERS if h in request.headers}
    services = services_of(request)
    try:
        # Kapso waits 10 s: past the deadline answer 503 so it retries. If the write still
        # lands afterwards, the retry is deduplicated: nothing lost, nothing doubled.
        answer = await asyncio.wait_for(
            run_in_threadpool(ingest, services, channel, items, signed_for, headers, received_at),
            timeout=services.settings.ingest_timeout,
        )
    except TimeoutError:
        raise ApiError(
            503,
            "unavailable",
            "the database did not answer in time; retry later",
            headers={"Retry-After": "5"},
        ) from None
    return JSONResponse(answer.model_dump(mode="json"))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
