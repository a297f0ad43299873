"""JSON log lines for every entrypoint (the HTTP server, uvicorn, the CLI): the format,
the secret redaction and uvicorn's log config, in one place both api.http and api.cli use."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

current_request_id: ContextVar[str | None] = ContextVar("leadledger_request_id", default=None)

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
        "formatters": {"json": {"()": "api.logging_setup.JsonFormatter"}},
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
