"""Simulated traffic carries the time it is made (issue 17): each lead's messages at least
a second apart; without a clock, one fixed timestamp keeps seeded bytes reproducible."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import pairwise

from adapters.webhooks.traffic import FIXED_TIMESTAMP, Traffic


def stamps_by_phone(traffic: Traffic, count: int) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    sent: set[bytes] = set()
    for _ in range(count):
        request = traffic.next()
        if request.path != "/webhook/kapso" or request.body in sent:
            continue  # Sarah's reports, and redeliveries of a message already counted
        sent.add(request.body)
        body = json.loads(request.body)
        for element in body.get("data", [body]):
            phone = element["conversation"]["phone_number"]
            seen[phone].append(int(element["message"]["timestamp"]))
    return seen


def test_messages_carry_the_clock_spaced_per_lead() -> None:
    now = [1_800_000_000.4]
    traffic = Traffic("s", "k", leads=3, seed=1, clock=lambda: now[0])
    seen = stamps_by_phone(traffic, 60)
    assert len(seen) == 3
    for stamps in seen.values():
        assert stamps[0] == 1_800_000_000
        assert all(later > earlier for earlier, later in pairwise(stamps))


def test_without_a_clock_the_bytes_are_reproducible() -> None:
    one, two = Traffic("s", "k", leads=3, seed=1), Traffic("s", "k", leads=3, seed=1)
    assert [one.next().body for _ in range(20)] == [two.next().body for _ in range(20)]
    stamps = stamps_by_phone(Traffic("s", "k", leads=3, seed=1), 30)
    assert {s for values in stamps.values() for s in values} == {int(FIXED_TIMESTAMP)}
