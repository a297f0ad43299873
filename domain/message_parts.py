"""The rest of a WhatsApp message or status, kept verbatim beside the typed fields.

The typed fields the views use (text, media, status, error code) are conclusions drawn from
the message; these are what the source said, whole: nothing of a message is dropped because
no view reads it yet. All are personal data (sealed with the lead's key, domain/personal.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Verbatim:
    def fields(self) -> dict[str, Any]:
        """As event attributes (shallow: the values are the source's own JSON). The
        instance's own dict holds exactly its fields: `dataclasses.fields()` rebuilt the
        field list on every call, a tenth of the writer's time in an ingest profile."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class InboundParts(_Verbatim):
    wa_id: str | None = None  # the sender id exactly as sent
    content: dict[str, Any] | None = None  # {<type>: <the type's object>}
    referral: dict[str, Any] | None = None  # the Click-to-WhatsApp ad the customer came from
    context: dict[str, Any] | None = None  # replied-to / forwarded
    errors: list[Any] | None = None


@dataclass(frozen=True)
class OutboundParts(_Verbatim):
    content: dict[str, Any] | None = None
    echo: bool | None = None  # True: staff typed it in the WhatsApp Business app
    wa_id: str | None = None  # the recipient id exactly as sent


@dataclass(frozen=True)
class StatusParts(_Verbatim):
    errors: list[Any] | None = None
    recipient_id: str | None = None  # as sent
    detail: dict[str, Any] | None = None  # conversation, pricing, biz_opaque_callback_data…
