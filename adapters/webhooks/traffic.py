"""Realistic signed Kapso and Sarah traffic, for `leadledger simulate` and the benchmarks."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from adapters.webhooks.payloads import (
    KAPSO_DELIVERED,
    KAPSO_PATH,
    KAPSO_RECEIVED,
    kapso_batch,
    kapso_headers,
    kapso_message,
)

PHASES = [
    "greeting",
    "collect_name",
    "collect_domisili",
    "listening",
    "validate_pain_points",
    "discover_interest",
    "solution_match",
    "close_attempt",
    "completed",
]
NAMES = ["Budi Santoso", "Sari Dewi", "Andi Wijaya", "Rina Putri", "Dedi Kurniawan", "Siti Aminah"]
BUSINESSES = ["online shop", "F&B", "spa", "laundry", "bengkel", "katering"]
# The WhatsApp number simulated traffic is sent to (the test settings' and the benchmarks').
SIMULATED_PHONE_NUMBER_ID = "109876543210987"
FIXED_TIMESTAMP = "1764000000"  # 2025-11-24 16:00 UTC
CITIES = ["Bandung", "Jakarta", "Surabaya", "Medan", "Yogyakarta", "Makassar"]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]
    fact: str


def phone_for(index: int) -> str:
    """Valid Indonesian mobile numbers (+62 812 …), one per simulated lead."""
    return f"+62812{10_000_000 + index:08d}"


class Traffic:
    """An endless, seeded stream of deliveries: mostly new messages, some duplicates,
    some batches, Sarah moving each lead through her phases."""

    def __init__(
        self,
        kapso_secret: str,
        api_key: str,
        leads: int,
        seed: int = 7,
        duplicate_rate: float = 0.1,
        batch_rate: float = 0.05,
        phone_number_id: str = SIMULATED_PHONE_NUMBER_ID,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock` (e.g. time.time) stamps each message with the time it is made, one lead's
        messages at least a second apart; without it every message carries one fixed
        timestamp, so a seed always makes the same bytes (tests, benchmarks)."""
        self.secret = kapso_secret
        self.api_key = api_key
        self.leads = leads
        self.rng = random.Random(seed)
        self.duplicate_rate = duplicate_rate
        self.batch_rate = batch_rate
        self.pnid = phone_number_id
        self.sent: list[Request] = []
        self.phase = [0] * leads
        self.clock = clock
        self.last_stamp = [0] * leads

    def __iter__(self) -> Iterator[Request]:
        while True:
            yield self.next()

    def next(self) -> Request:
        roll = self.rng.random()
        if self.sent and roll < self.duplicate_rate:
            return self.rng.choice(self.sent[-1000:])
        lead = self.rng.randrange(self.leads)
        if roll < self.duplicate_rate + self.batch_rate:
            request = self._batch(lead)
        elif roll < 0.75:
            request = self._inbound(lead)
        elif roll < 0.9:
            request = self._sarah(lead)
        else:
            request = self._delivered(lead)
        self.sent.append(request)
        return request

    def _event(self, lead: int, inbound: bool, status: str) -> dict[str, Any]:
        message_id = f"wamid.SIM{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
        text = self.rng.choice(["Halo kak", "Berapa harganya?", "Boleh minta katalog?", "Oke"])
        return kapso_message(
            message_id,
            phone_for(lead),
            phone_number_id=self.pnid,
            conversation_id=f"conv_sim_{lead}",
            text=text,
            sender=phone_for(lead)[1:] if inbound else None,
            direction="inbound" if inbound else "outbound",
            status=status,
            timestamp=self._stamp(lead),
            message_kapso={"origin": "cloud_api", "content": text},
            conversation_kapso={"contact_name": NAMES[lead % len(NAMES)]},
        )

    def _stamp(self, lead: int) -> str:
        if self.clock is None:
            return FIXED_TIMESTAMP
        stamp = max(int(self.clock()), self.last_stamp[lead] + 1)
        self.last_stamp[lead] = stamp
        return str(stamp)

    def _kapso(self, payload: object, event: str, fact: str, batch: bool = False) -> Request:
        body = json.dumps(payload).encode()
        key = str(uuid.UUID(int=self.rng.getrandbits(128)))
        headers = kapso_headers(self.secret, body, event, batch=batch, idempotency_key=key)
        return Request(KAPSO_PATH, body, headers, fact)

    def _inbound(self, lead: int) -> Request:
        return self._kapso(self._event(lead, True, "received"), KAPSO_RECEIVED, "inbound")

    def _delivered(self, lead: int) -> Request:
        return self._kapso(self._event(lead, False, "delivered"), KAPSO_DELIVERED, "delivered")

    def _batch(self, lead: int) -> Request:
        data = [self._event(lead, True, "received") for _ in range(self.rng.randint(2, 5))]
        payload = kapso_batch(KAPSO_RECEIVED, data, f"conv_sim_{lead}")
        return self._kapso(payload, KAPSO_RECEIVED, "batch", batch=True)

    def _sarah(self, lead: int) -> Request:
        step = min(self.phase[lead], len(PHASES) - 1)
        self.phase[lead] += 1
        body = json.dumps(
            {
                "contact_phone": phone_for(lead),
                "state": PHASES[step],
                "extracted_data": {
                    "name": NAMES[lead % len(NAMES)].split()[0],
                    "business_type": self.rng.choice(BUSINESSES),
                    "domisili": self.rng.choice(CITIES) if step > 1 else None,
                },
                "lead_score": min(100, 10 * step + self.rng.randint(0, 9)),
                "lead_temperature": self.rng.choice(["hot", "warm", "lukewarm", "cold"]),
            }
        ).encode()
        return Request(
            "/sarah/state",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            "sarah",
        )
