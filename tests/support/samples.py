"""The recorded webhook samples in tests/fixtures/samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample(name))


def received_sample_headers() -> dict[str, str]:
    """kapso-message-received.headers' X- headers (its signature line is a placeholder)."""
    headers: dict[str, str] = {}
    for line in sample("kapso-message-received.headers").decode().splitlines():
        name, _, value = line.partition(":")
        if name.lower().startswith("x-") and name.lower() != "x-webhook-signature":
            headers[name.strip()] = value.strip()
    return headers
