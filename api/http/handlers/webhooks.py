"""POST /webhook/kapso and GET/POST /webhook/meta: verify, translate, record, then answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from service_layer.errors import IngestTimeoutError
from service_layer.ingest import Delivery, Ingested, RecordedFact

# A body up to this size is translated, and its answer built, on the event loop: a
# thread hop each way costs more than the work (a few hundred µs under load: GIL
# hand-overs and wake-ups). Larger ones (a batch of thousands of parts takes seconds) go
# to a worker thread so other requests keep being served.
INLINE_BODY_BYTES = 16 * 1024
INLINE_ANSWER_PARTS = 50

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
    received_at = datetime.now(UTC)
    event = request.headers.get("x-webhook-event")
    batch = request.headers.get("x-webhook-batch", "").lower() == "true"
    idempotency_key = request.headers.get("x-idempotency-key")

    def translate() -> list[TranslatedItem]:
        # Past the signature and the JSON, nothing is refused: each part is recorded or
        # kept raw.
        body = parse_json(raw)
        region = service.workspaces.default_region
        return translate_kapso(body, event, batch, idempotency_key, received_at, region)

    return await _record(request, "kapso", raw, translate, signed_for, received_at)


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
    received_at = datetime.now(UTC)

    def translate() -> list[TranslatedItem]:
        return translate_meta(parse_json(raw), received_at, service.workspaces.default_region)

    return await _record(request, "meta", raw, translate, signed_for, received_at)


async def _record(
    request: Request,
    channel: str,
    raw: bytes,
    translate: Callable[[], list[TranslatedItem]],
    signed_for: set[str],
    received_at: datetime,
) -> Response:
    """Parse, translate and record (a large body off the event loop: a 5 MB batch is
    seconds of work, other requests keep being served), then answer once committed."""
    headers = {h: request.headers[h] for h in _KEPT_HEADERS if h in request.headers}
    service = service_of(request)
    # The same delivery again (a sender's retry: same bytes, same event headers) joins the
    # write of the first one while it runs, without parsing it again.
    digest = hashlib.sha256(raw)
    for name, value in sorted(headers.items()):
        digest.update(f"\n{name}:{value}".encode())
    key = f"{channel}:{digest.hexdigest()}"
    recording = service.delivery_in_flight(key)
    if recording is None:
        items = translate() if len(raw) <= INLINE_BODY_BYTES else await run_in_threadpool(translate)
        delivery = Delivery(channel, items, signed_for, headers, received_at, key)
        recording = service.submit_delivery(delivery)
    try:
        # Kapso waits 10 s: past the deadline answer 503 so it retries. The write goes on
        # (shielded from the cancellation): the retry waits for it, or is deduplicated.
        ingested = await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(recording)),
            timeout=service.settings.ingest_timeout,
        )
    except TimeoutError:
        raise IngestTimeoutError from None
    if len(ingested.parts) <= INLINE_ANSWER_PARTS:
        return _accepted(ingested)
    return await run_in_threadpool(_accepted, ingested)


def _accepted(ingested: Ingested) -> Response:
    """The AcceptedOut answer (its schema documents it), built as plain JSON values: the
    pydantic models' validation cost a tenth of the event loop's time per delivery, and
    these values need none (tests/unit/test_webhook_answer.py holds them to the schema)."""
    return JSONResponse(accepted_body(ingested))


def accepted_body(ingested: Ingested) -> dict[str, Any]:
    return {
        "status": "accepted",
        "facts": _facts(ingested.facts),
        "kept_unhandled": ingested.kept_unhandled,
        "parts": [
            {
                "part": p.part,
                "kind": p.kind,
                "outcome": p.outcome,
                "facts": _facts(p.facts),
                "reason": p.reason,
            }
            for p in ingested.parts
        ],
    }


def _facts(facts: list[RecordedFact]) -> list[dict[str, str]]:
    return [{"lead_id": str(f.lead_id), "fact": f.fact} for f in facts]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
