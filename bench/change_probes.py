"""The change-stream bench's probes (bench/changes.py): a signed Kapso delivery or a note
command, alternately, each carrying a marker (bench/sse_clients.token), sent at a steady
rate from a process of their own; each probe's HTTP 200 is timed on the system-wide
monotonic clock, which the SSE clients read too."""

from __future__ import annotations

import json
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import httpx

from adapters.webhooks import payloads
from adapters.webhooks.traffic import SIMULATED_PHONE_NUMBER_ID
from bench import sse_clients

PROBE_PHONE = "+6281399990000"


def probe_delivery(secret: str, n: int) -> tuple[bytes, dict[str, str]]:
    mark = sse_clients.token(n)
    element = payloads.kapso_message(
        f"wamid.{mark}",
        PROBE_PHONE,
        phone_number_id=SIMULATED_PHONE_NUMBER_ID,
        conversation_id="conv-probe",
        text=f"probe {mark}",
        sender=PROBE_PHONE[1:],
    )
    body = json.dumps(element).encode()
    return body, payloads.kapso_headers(secret, body, payloads.KAPSO_RECEIVED)


def send_probes(base: str, secret: str, human: str, lead: str, plan: dict[str, Any]) -> None:
    """Process entry point: probes at `rate`/s, numbered from `first`, until `count` are
    sent or the pipe says stop; answers {token: monotonic time of its 200}."""
    pipe: Connection = plan["pipe"]
    answered: dict[str, float] = {}
    failed: list[int] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        n, begin = plan["first"], time.monotonic()
        while not pipe.poll(0) and (plan["count"] == 0 or n < plan["first"] + plan["count"]):
            if (delay := begin + (n - plan["first"]) / plan["rate"] - time.monotonic()) > 0:
                time.sleep(delay)
            if n % 2:
                resp = http.post(
                    f"/leads/{lead}/notes",
                    json={"content": f"probe {sse_clients.token(n)}"},
                    headers={"Authorization": f"Bearer {human}"},
                )
            else:
                body, headers = probe_delivery(secret, n)
                resp = http.post(payloads.KAPSO_PATH, content=body, headers=headers)
            if resp.status_code == 200:
                answered[sse_clients.token(n)] = time.monotonic()
            else:
                failed.append(resp.status_code)
            n += 1
    pipe.send({"answered": answered, "failed": failed})


class Probes:
    """The probe sender in its own process; `stop()` answers its 200s' times."""

    def __init__(
        self, base: str, secret: str, note: tuple[str, str], first: int, rate: float, count: int
    ) -> None:
        """`note`: the human key and the lead that the note commands go to."""
        self._pipe, child = multiprocessing.Pipe()
        plan = {"pipe": child, "first": first, "rate": rate, "count": count}
        args = (base, secret, *note, plan)
        self._process = multiprocessing.Process(target=send_probes, args=args)
        self._process.start()

    def stop(self, wait: bool = False) -> dict[str, Any]:
        if not wait:
            self._pipe.send("stop")
        answer: dict[str, Any] = self._pipe.recv()
        self._process.join(30)
        return answer
