"""Request ids and structured JSON logs: one line per request, never a secret or a body."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.metrics import Metrics
from api.logging_setup import current_request_id

request_log = logging.getLogger("leadledger.requests")

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# New ids: this process's random 80-bit prefix and a counter, 32 hex digits like a UUID's:
# unique across processes and restarts, without a random draw per request (uuid4 was a
# twelfth of the event loop's time per delivery).
_PROCESS_PREFIX = secrets.token_hex(10)
_SERIAL = itertools.count()


def request_id_from(incoming: str | None) -> str:
    """The caller's id when it is a sane token (≤ 128 of [A-Za-z0-9._-]), else a new one."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return f"{_PROCESS_PREFIX}{next(_SERIAL) & 0xFFFFFFFFFFFF:012x}"


class RequestObserver:
    """Pure ASGI (streaming and body limits untouched): request id, metrics, one log line."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        workspace_for_key: Callable[[str], str | None],
        templates: dict[object, str],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.workspace_for_key = workspace_for_key
        self.templates = templates  # endpoint → path, when the router does not set scope["route"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_id = headers.get(b"x-request-id", b"").decode("latin-1") or None
        request_id = request_id_from(raw_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            try:
                self._done(scope, headers, status, time.perf_counter() - started)
            except Exception:  # observing must never break an answer already sent
                request_log.exception("observing the request failed")
            current_request_id.reset(token)

    def _done(self, scope: Scope, headers: dict[bytes, bytes], status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None)
        route = route or self.templates.get(scope.get("endpoint"), "unmatched")
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        self.metrics.observe_request(route, method, status, seconds)
        fields: dict[str, Any] = {
            "request_id": scope["state"]["request_id"],
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        workspace = scope["state"].get("workspace") or self._workspace(headers)
        if workspace:
            fields["workspace"] = workspace
        key_id = scope["state"].get("key_id")  # who called (never the key): the audit's link
        if key_id:
            fields["key_id"] = key_id
        level = logging.ERROR if status >= 500 else logging.INFO
        request_log.log(level, "request", extra=fields)

    def _workspace(self, headers: dict[bytes, bytes]) -> str | None:
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        return self.workspace_for_key(key.strip())
