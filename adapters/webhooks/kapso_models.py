"""Kapso webhook payload v2, as pydantic models (snake_case and camelCase accepted).

Unknown fields are allowed: Kapso adds fields over time, and each event keeps the
message's objects verbatim anyway.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Kapso(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", str_max_length=100_000
    )


class KapsoError(_Kapso):
    code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)  # fits the views
    title: str | None = None
    message: str | None = None


class KapsoStatus(_Kapso):
    id: str | None = None
    status: str
    timestamp: str | int | None = None
    recipient_id: str | None = None
    errors: list[KapsoError] = Field(default_factory=list)


class KapsoMessageMeta(_Kapso):
    direction: str | None = None
    status: str | None = None
    origin: str | None = None
    has_media: bool | None = None
    content: str | None = None
    statuses: list[KapsoStatus] = Field(default_factory=list)
    errors: list[KapsoError] = Field(default_factory=list)


class KapsoText(_Kapso):
    body: str | None = None


class KapsoMessage(_Kapso):
    id: str = Field(min_length=1, max_length=512)
    timestamp: str | int | None = None
    type: str = "text"
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None  # a business-scoped user id (BSUID)
    username: str | None = None
    to: str | None = None
    to_user_id: str | None = None
    text: KapsoText | None = None
    kapso: KapsoMessageMeta | None = None
    errors: list[KapsoError] = Field(default_factory=list)


class KapsoConversationMeta(_Kapso):
    contact_name: str | None = None
    messages_count: int | None = None


class KapsoConversation(_Kapso):
    id: str | None = Field(default=None, max_length=512)
    phone_number: str | None = None  # null for a username-only user (2026)
    business_scoped_user_id: str | None = None
    username: str | None = None
    status: str | None = None
    last_active_at: str | None = None
    updated_at: str | None = None
    created_at: str | None = None
    phone_number_id: str | None = None
    kapso: KapsoConversationMeta | None = None


class KapsoEvent(_Kapso):
    """One single-event body (also one element of a batch's `data`)."""

    message: KapsoMessage | None = None
    conversation: KapsoConversation | None = None
    is_new_conversation: bool | None = None
    phone_number_id: str | None = None
    since_message: dict[str, Any] | None = None
    inactivity: dict[str, Any] | None = None


class KapsoBatch(_Kapso):
    type: str | None = None
    batch: bool | None = None
    data: list[Any]  # each element is translated (or kept raw) on its own
    batch_info: dict[str, Any] | None = None
