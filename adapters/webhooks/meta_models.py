"""WhatsApp Cloud API (Graph v24.0) webhook body, as pydantic models.

Unknown fields are allowed: Meta adds fields over time (user_id, pricing…) and each
event keeps its part verbatim anyway. Only the envelope is validated for the whole body;
each message, status, echo and contact is validated on its own (adapters/webhooks/meta.py),
so one bad part is kept raw without touching the others.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=100_000)


class MetaProfile(_Meta):
    name: str | None = Field(default=None, max_length=512)
    username: str | None = Field(default=None, max_length=256)


class MetaContact(_Meta):
    profile: MetaProfile | None = None
    # Empty or absent for username-only users (2026); user_id is the business-scoped id.
    wa_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=256)


class MetaError(_Meta):
    code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)  # fits the views
    title: str | None = Field(default=None, max_length=1024)
    message: str | None = Field(default=None, max_length=4096)


class MetaText(_Meta):
    body: str | None = None


class MetaMedia(_Meta):
    """image, audio, video, document or sticker."""

    id: str | None = Field(default=None, max_length=512)
    mime_type: str | None = Field(default=None, max_length=256)
    caption: str | None = None
    filename: str | None = Field(default=None, max_length=1024)


class MetaReply(_Meta):
    id: str | None = Field(default=None, max_length=512)
    title: str | None = Field(default=None, max_length=1024)


class MetaInteractive(_Meta):
    type: str | None = Field(default=None, max_length=64)
    button_reply: MetaReply | None = None
    list_reply: MetaReply | None = None


class MetaButton(_Meta):
    """A template quick-reply button press."""

    text: str | None = Field(default=None, max_length=1024)
    payload: str | None = Field(default=None, max_length=4096)


class MetaMessage(_Meta):
    from_: str | None = Field(default=None, alias="from", max_length=64)
    from_user_id: str | None = Field(default=None, max_length=256)
    id: str = Field(min_length=1, max_length=512)
    timestamp: str | int | None = None
    type: str = Field(default="text", max_length=64)
    text: MetaText | None = None
    context: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    image: MetaMedia | None = None
    audio: MetaMedia | None = None
    video: MetaMedia | None = None
    document: MetaMedia | None = None
    sticker: MetaMedia | None = None
    location: dict[str, Any] | None = None
    interactive: MetaInteractive | None = None
    button: MetaButton | None = None
    reaction: dict[str, Any] | None = None
    errors: list[MetaError] = Field(default_factory=list)


class MetaStatus(_Meta):
    id: str = Field(min_length=1, max_length=512)
    status: str = Field(min_length=1, max_length=32)  # sent|delivered|read|failed|played
    timestamp: str | int | None = None
    recipient_id: str | None = Field(default=None, max_length=64)
    recipient_user_id: str | None = Field(default=None, max_length=256)
    recipient_type: str | None = Field(default=None, max_length=32)  # "group": id is no phone
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None
    errors: list[MetaError] = Field(default_factory=list)


class MetaEcho(_Meta):
    """A `smb_message_echoes` message: staff typed it in the WhatsApp Business app."""

    from_: str | None = Field(default=None, alias="from", max_length=64)  # the business
    to: str | None = Field(default=None, max_length=64)  # the customer
    to_user_id: str | None = Field(default=None, max_length=256)
    id: str = Field(min_length=1, max_length=512)
    timestamp: str | int | None = None
    type: str = Field(default="text", max_length=64)
    text: MetaText | None = None
