"""Request ids and structured JSON logs: one line per request, never a secret or a body."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.metrics import Metrics

request_log = logging.getLogger("leadledger.requests")
current_request_id: ContextVar[str | None] = ContextVar("leadledger_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Defence in depth: our code never logs headers, but a stray message must not leak a key.
_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(sha256=)[0-9a-f]{16,}"), r"\1[redacted]"),
)
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SKIPPED = frozenset({"color_message"})  # uvicorn's ANSI copy of the message


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def request_id_from(incoming: str | None) -> str:
    """The caller's id when it is a sane token (≤ 128 of [A-Za-z0-9._-]), else a new one."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in _SKIPPED and not key.startswith("_"):
                line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, default=str, ensure_ascii=False))


def level_of(name: str) -> int:
    level = logging.getLevelName(name.upper())  # "trace" is known once uvicorn is imported
    return level if isinstance(level, int) else logging.INFO


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the `leadledger` loggers, unless a config already did it."""
    logger = logging.getLogger("leadledger")
    logger.setLevel(level_of(level))
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's `log_config`: JSON everywhere, and no access log (ours replaces it)."""
    name = logging.getLevelName(level_of(level))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.http.observability.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "leadledger": {"handlers": ["json"], "level": name, "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": name, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


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
        level = logging.ERROR if status >= 500 else logging.INFO
        request_log.log(level, "request", extra=fields)

    def _workspace(self, headers: dict[bytes, bytes]) -> str | None:
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        return self.workspace_for_key(key.strip())
