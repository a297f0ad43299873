"""The recorded WhatsApp / Kapso webhook bodies (tests/fixtures/whatsapp/) and their
manifest: what each body holds according to the docs, and how to post it signed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.identity import lead_id_for
from tests.support import WORKSPACE, kapso_headers, meta_headers

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "whatsapp"
MANIFEST: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
UNHANDLED = "unhandled:"


@dataclass(frozen=True)
class Fixture:
    file: str
    channel: str  # "meta" | "kapso"
    event: str | None
    headers: dict[str, str]
    parts: list[dict[str, Any]]

    @property
    def raw(self) -> bytes:
        return (FIXTURES / self.file).read_bytes()

    @property
    def path(self) -> str:
        return f"/webhook/{self.channel}"

    def signed(self, raw: bytes | None = None, key: str | None = None) -> dict[str, str]:
        body = self.raw if raw is None else raw
        if self.channel == "meta":
            return meta_headers(body)
        batch = self.headers.get("X-Webhook-Batch") == "true"
        return {**self.headers, **kapso_headers(body, self.event, batch, key)}

    def expected(self) -> list[tuple[str, Any]]:
        """(kind, lead id) of every part the docs say is about a customer, sorted."""
        return sorted(
            (p["kind"], lead_of(p["identity"]))
            for p in self.parts
            if not p["kind"].startswith(UNHANDLED)
        )

    def unhandled(self) -> int:
        return sum(p["kind"].startswith(UNHANDLED) for p in self.parts)


def lead_of(identity: dict[str, str]) -> Any:
    key = (
        identity["key"] if identity["kind"] == "phone" else f"{identity['kind']}:{identity['key']}"
    )
    return lead_id_for(WORKSPACE, key)


def fixtures() -> Iterator[Fixture]:
    for entry in MANIFEST:
        yield Fixture(
            entry["file"],
            entry["channel"],
            entry.get("event"),
            entry.get("headers") or {},
            entry["parts"],
        )
