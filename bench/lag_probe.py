"""The probed side of bench/lag.py: a new lead's first message, sent and then polled for
until the views show it (through the lead itself or the list view)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.webhooks.payloads import KAPSO_PATH, KAPSO_RECEIVED, kapso_headers, kapso_message
from adapters.webhooks.traffic import NAMES, SIMULATED_PHONE_NUMBER_ID, phone_for
from bench.common import Credentials

# Probed leads' numbers start past the load generator's (bench.loadgen.Plan.leads): a probed
# lead is new, so the first answer showing a message shows the probed one.
PROBED_LEADS = 1_000_000
TEXTS = (
    "Halo kak, saya mau tanya soal chatbot untuk toko online saya",
    "Berapa harga paket bulanan?",
    "Boleh minta katalog?",
    "Apakah bisa dipakai untuk banyak admin?",
    "Saya punya usaha katering di Bandung",
)


def inbound(index: int, run: str) -> tuple[str, bytes]:
    """A first WhatsApp message from a new lead, as Kapso delivers it (payload v2)."""
    phone = phone_for(PROBED_LEADS + index)
    text = TEXTS[index % len(TEXTS)]
    body = kapso_message(
        f"wamid.LAG{run}{index:08d}",
        phone,
        phone_number_id=SIMULATED_PHONE_NUMBER_ID,
        conversation_id=f"conv_lag_{run}_{index}",
        text=text,
        sender=phone[1:],
        timestamp=str(int(time.time())),
        message_kapso={
            "processing_status": "pending",
            "origin": "cloud_api",
            "has_media": False,
            "content": text,
        },
        conversation_kapso={"contact_name": NAMES[index % len(NAMES)], "messages_count": 1},
        new_conversation=True,
    )
    return phone, json.dumps(body).encode()


@dataclass
class Sample:
    index: int
    scheduled: float
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    visible: float | None = None
    polls: int = 0
    retries: int = 0
    error: str | None = None


# A keep-alive connection the server closes just as a request goes out (uvicorn closes idle
# connections after 5 s) fails with one of these; both requests here are safe to repeat
# (the webhook is deduplicated by message id and X-Idempotency-Key).
TRANSIENT = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def request(
    sample: Sample, client: httpx.Client, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    for attempt in range(3):
        try:
            return client.request(method, path, **kwargs)
        except TRANSIENT:
            if attempt == 2:
                raise
            sample.retries += 1
    raise AssertionError("unreachable")


class Probe:
    def __init__(
        self,
        client: httpx.Client,
        api_key: str,
        kind: str,
        poll: float,
        timeout: float,
        abort_at: float,
    ) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.kind = kind
        self.poll = poll
        self.timeout = timeout
        self.abort_at = abort_at

    def shows(self, sample: Sample, phone: str, lead_id: str) -> bool:
        if self.kind == "lead":
            resp = request(sample, self.client, "GET", f"/leads/{lead_id}", headers=self.auth)
            return resp.status_code == 200 and resp.json()["inbound_count"] >= 1
        resp = request(
            sample, self.client, "GET", "/leads", params={"q": phone[1:]}, headers=self.auth
        )
        if resp.status_code != 200:
            return False
        return any(
            lead["lead_id"] == lead_id and lead["inbound_count"] >= 1
            for lead in resp.json()["leads"]
        )

    def wait(self, sample: Sample, phone: str, lead_id: str) -> None:
        deadline = min(sample.answered + self.timeout, self.abort_at)
        while time.perf_counter() < deadline:
            sample.polls += 1
            if self.shows(sample, phone, lead_id):
                sample.visible = time.perf_counter()
                return
            time.sleep(self.poll)
        if deadline == self.abort_at:
            sample.error = "probe cut: run deadline"
        else:
            sample.error = f"not visible within {self.timeout:g} s"


def send_one(
    client: httpx.Client, probe: Probe, creds: Credentials, run: str, sample: Sample
) -> Sample:
    if time.perf_counter() > probe.abort_at:
        sample.error = "not sent: run deadline"
        return sample
    phone, body = inbound(sample.index, run)
    key = str(uuid.uuid4())
    headers = kapso_headers(creds.kapso_secret, body, KAPSO_RECEIVED, idempotency_key=key)
    sample.sent = time.perf_counter()
    try:
        resp = request(sample, client, "POST", KAPSO_PATH, content=body, headers=headers)
    except httpx.HTTPError as exc:
        sample.answered, sample.error = time.perf_counter(), f"webhook: {type(exc).__name__}"
        return sample
    sample.answered, sample.status = time.perf_counter(), resp.status_code
    if resp.status_code != 200:
        sample.error = f"webhook: HTTP {resp.status_code}"
        return sample
    lead_id = str(resp.json()["facts"][0]["lead_id"])
    try:
        probe.wait(sample, phone, lead_id)
    except httpx.HTTPError as exc:
        sample.error = f"poll: {type(exc).__name__}"
    return sample
