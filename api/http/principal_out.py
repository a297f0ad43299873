"""The `principal` of a status change, note or audit entry, as the API answers it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PrincipalOut(BaseModel):
    name: str
    role: str | None
    key_id: str | None


class WithPrincipal(BaseModel):
    """A view row whose `principal`, `principal_role` and `key_id` columns read as one
    `principal` object (null: no API key said it, or it was said before principals)."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    principal: PrincipalOut | None = Field(
        default=None, description="the API key that said it (docs/security.md)"
    )

    @model_validator(mode="before")
    @classmethod
    def _principal(cls, data: Any) -> Any:
        row = data if isinstance(data, dict) else getattr(data, "__dict__", None)
        if row is None or isinstance(row.get("principal"), dict | PrincipalOut):
            return data
        name, role, key_id = row.get("principal"), row.get("principal_role"), row.get("key_id")
        principal = {"name": name, "role": role, "key_id": key_id} if name else None
        return {**row, "principal": principal}
