"""Synthetic lead conversations for the benchmarks' ledger, as commands.

Realistic conversations (Kapso inbound/outbound messages and their statuses, conversations,
Sarah's phases, Brain and human status requests, notes) for `leads` leads, `events` events
in all, interleaved 1,000 leads at a time. Lead 0 (`BIG_PHONE`) has 1,000 events: the
long history the query benchmark reads.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.webhooks.traffic import BUSINESSES, CITIES, NAMES, PHASES, phone_for
from domain.commands import (
    AddNote,
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReportContactName,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said

BIG_EVENTS = 1000
BIG_PHONE = phone_for(0)
INBOUND_TEXTS = (
    "Halo kak, saya mau tanya soal chatbot untuk toko online saya",
    "Berapa harga paket bulanan?",
    "Boleh minta katalog?",
    "Apakah bisa dipakai untuk banyak admin?",
    "Kalau malam hari chat pelanggan sering tidak terbalas",
    "Oke kak, saya diskusikan dulu dengan partner",
    "Bisa demo hari Senin?",
)
OUTBOUND_TEXTS = (
    "Halo! Saya Sarah dari tim kami. Boleh tahu bisnisnya di bidang apa?",
    "Sudah berapa lama usahanya berjalan, kak?",
    "Paket bulanan mulai dari Rp 299.000, termasuk 3 admin.",
    "Boleh saya kirimkan katalognya?",
    "Terima kasih kak, tim kami akan menghubungi untuk demo.",
)
NOTES = (
    "Called, wants a demo on Monday",
    "Asked for a discount for 12 months",
    "Not the decision maker; owner is her husband",
    "Sent the price list by email",
)
PAIN_POINTS = ("kewalahan balas chat", "miss message malam hari", "admin sering resign")


@dataclass
class LeadScript:
    """One lead's conversation, produced command by command in time order."""

    index: int
    rng: random.Random
    at: datetime
    phone: str = ""
    conversation: str = ""
    phase: int = 0
    messages: int = 0
    pending: list[tuple[str, int]] = field(default_factory=list)  # (outbound id, statuses)
    step: int = 0

    def __post_init__(self) -> None:
        self.phone = phone_for(self.index)
        self.conversation = f"conv_bench_{self.index}"

    def _said(self, source: str, actor: str, key: str | None = None) -> Said:
        self.at += timedelta(seconds=self.rng.randint(5, 900))
        received = self.at + timedelta(milliseconds=self.rng.randint(50, 1500))
        occurred = self.at if source in ("kapso", "meta") else None
        return Said(source, actor, received, occurred, key)

    def _message_id(self, kind: str) -> str:
        self.messages += 1
        return f"wamid.BENCH{kind}{self.index:06d}{self.messages:04d}"

    def next(self) -> LeadCommand:
        self.step += 1
        if self.step == 1:
            name = NAMES[self.index % len(NAMES)]
            return ReportContactName(self.phone, self._said("kapso", "kapso"), name=name)
        if self.step == 2:
            return RecordConversation(
                self.phone, self._said("kapso", "kapso"), conversation_id=self.conversation
            )
        if self.step == 3:
            return self._inbound()
        roll = self.rng.random()
        if roll < 0.25:
            return self._inbound()
        if roll < 0.45:
            return self._outbound()
        if roll < 0.65:
            return self._status() if self.pending else self._inbound()
        if roll < 0.80:
            return self._sarah()
        if roll < 0.90:
            return self._status_request()
        return self._note()

    def _inbound(self) -> RecordInboundMessage:
        return RecordInboundMessage(
            self.phone,
            self._said("kapso", "kapso", f"kapso-{self.rng.getrandbits(64):016x}"),
            message_id=self._message_id("IN"),
            text=self.rng.choice(INBOUND_TEXTS),
            conversation_id=self.conversation,
        )

    def _outbound(self) -> RecordOutboundMessage:
        message_id = self._message_id("OUT")
        self.pending.append((message_id, 0))
        return RecordOutboundMessage(
            self.phone,
            self._said("kapso", "kapso"),
            message_id=message_id,
            text=self.rng.choice(OUTBOUND_TEXTS),
            origin="cloud_api",
            conversation_id=self.conversation,
        )

    def _status(self) -> RecordMessageStatus:
        message_id, done = self.pending.pop(0)
        status = ("sent", "delivered", "read")[done]
        if done < 2:
            self.pending.insert(0, (message_id, done + 1))
        return RecordMessageStatus(
            self.phone, self._said("kapso", "kapso"), message_id=message_id, status=status
        )

    def _sarah(self) -> ReportSarahPhase:
        step = min(self.phase, len(PHASES) - 1)
        self.phase += 1
        data: dict[str, Any] = {
            "name": NAMES[self.index % len(NAMES)].split()[0],
            "business_type": self.rng.choice(BUSINESSES),
            "domisili": self.rng.choice(CITIES) if step > 1 else None,
        }
        if step >= 4:
            data["pain_points"] = self.rng.sample(PAIN_POINTS, 2)
            data["urgency_level"] = self.rng.choice(["low", "medium", "high"])
        if step >= 7:
            data["objection_raised"] = self.rng.choice(["harga", "waktu", None])
        return ReportSarahPhase(
            self.phone,
            self._said("sarah", "sarah-bot", f"sarah-{self.index}-{self.phase}"),
            chat_phase=PHASES[step],
            extracted_data=data,
            lead_score=min(100, 10 * step + self.rng.randint(0, 9)),
            lead_temperature=self.rng.choice(["hot", "warm", "lukewarm", "cold"]),
        )

    def _status_request(self) -> RequestStatus:
        human = self.rng.random() < 0.3
        source, actor = ("human", "dewi") if human else ("brain", "brain-v2")
        return RequestStatus(
            self.phone,
            self._said(source, actor, f"status-{self.index}-{self.step}"),
            status=self.rng.choice(["qualified", "contacted", "converted", "archived"]),
            reason=self.rng.choice([None, "asked for a demo", "not a fit", "paid invoice"]),
        )

    def _note(self) -> AddNote:
        source, actor = self.rng.choice([("human", "dewi"), ("brain", "brain-v2")])
        return AddNote(
            self.phone,
            self._said(source, actor, f"note-{self.index}-{self.step}"),
            content=self.rng.choice(NOTES),
        )


def budgets(events: int, leads: int, rng: random.Random) -> list[int]:
    """Events per lead summing to `events`: lead 0 has BIG_EVENTS, every other >= 2
    (Registered plus one fact), spread so that some leads talk much more than others."""
    rest, others = events - BIG_EVENTS, leads - 1
    mean = rest // others
    counts = [mean] * others
    for i in range(rest - mean * others):
        counts[i] += 1
    for _ in range(others):
        a, b = rng.randrange(others), rng.randrange(others)
        moved = rng.randint(0, max(0, min(counts[a] - 2, mean)))
        counts[a] -= moved
        counts[b] += moved
    return [BIG_EVENTS, *counts]


def command_groups(events: int, leads: int, seed: int, group: int) -> Iterator[list[LeadCommand]]:
    """Interleaved commands of `group` leads at a time (each lead in its own time order)."""
    rng = random.Random(seed)
    counts = budgets(events, leads, rng)
    start = datetime(2025, 11, 1, 8, 0, tzinfo=UTC)
    for first in range(0, leads, group):
        members = range(first, min(leads, first + group))
        scripts = {
            i: LeadScript(i, random.Random(seed * 1_000_003 + i), start + timedelta(minutes=i))
            for i in members
        }
        # counts[i] events = Registered (with the first command) + counts[i] - 1 commands.
        order = [i for i in members for _ in range(counts[i] - 1)]
        rng.shuffle(order)
        yield [scripts[i].next() for i in order]
