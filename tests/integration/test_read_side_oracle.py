"""The read side against an independent oracle (tests/read_side_model.py).

A Hypothesis state machine sends commands to two leads through the real write path (the
Ledger, on the memory backend), catches the live projection up and reads the lead back
through the queries after every step. The expected view comes from the reference model,
written from docs/read-models.md, so a reducer bug cannot also be in the expectation (as it
can in test_projection_equivalence.py, whose oracle is the reducer itself).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.commands import (
    AddNote,
    LeadCommand,
    RecordInboundMessage,
    RecordOutboundMessage,
    ReleaseStatusHold,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from projections.queries import get_view, notes, read_views, status_history
from service_layer.bootstrap import bootstrap
from tests.conftest import examples, settings_for
from tests.read_side_model import PHASE_STATUS, STATUSES, LeadModel, PolicySpec, Proposal
from tests.support import WORKSPACE

# Two leads (isolation), the first drawn three times as often: a status bug needs several
# status facts on one lead.
# Shrinking a failure replays whole histories: give it the time Hypothesis allows itself.
pytestmark = pytest.mark.timeout(900)

PHONES = ("+6281234567890", "+6281234567890", "+6281234567890", "+6285712345678")
T0 = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)
WIB = timezone(timedelta(hours=7), "WIB")
POLICIES = (
    "",  # the default
    'name = "sarah-first"\n[ranks]\nhuman = 3\nsarah = 2\nbrain = 1\nimport = 0\n',
    'name = "free-sarah"\nforward_only = []\n'
    "[ranks]\nhuman = 3\nbrain = 2\nsarah = 2\nimport = 0\n",
    'name = "no-hold"\nhold = []\n',
    'name = "brain-holds"\nhold = ["human", "brain"]\n'
    "[ranks]\nhuman = 3\nbrain = 3\nsarah = 0\nimport = 0\n",
    'name = "brain-unranked"\n[ranks]\nhuman = 3\nsarah = 1\nbrain = 0\nimport = 0\n',
)
OPTIONAL_TEXT = st.sampled_from([None, "", "Budi", "Bandung", "online shop"])

# A small time range, two time zones: ties and out-of-order reports are common.
moments = st.builds(
    lambda minutes, tz: (T0 + timedelta(minutes=minutes)).astimezone(tz),
    st.integers(0, 30),
    st.sampled_from([UTC, WIB]),
)
extracted = st.fixed_dictionaries(
    {},
    optional={
        "name": OPTIONAL_TEXT,
        "domisili": OPTIONAL_TEXT,
        "business_type": OPTIONAL_TEXT,
        "pain_points": st.sampled_from([None, [], ["mahal"], ["mahal", "lambat"]]),
        "budget": st.sampled_from([None, "", 5, "2 juta"]),  # a key the system does not know
    },
)


class ReadSideOracle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Views on tmpfs where there is one: a fresh store per example, fsyncs add up.
        shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private directory in it
        self.directory = Path(tempfile.mkdtemp("ll-oracle", dir=shm if shm.is_dir() else None))
        self.keys = itertools.count()
        self.models: dict[str, LeadModel] = {}
        self.sent: list[tuple[LeadCommand, datetime]] = []
        self.stored_between: dict[str, tuple[datetime, datetime]] = {}

    @initialize(policy=st.sampled_from(POLICIES))
    def start(self, policy: str) -> None:
        path = self.directory / "policy.toml"
        path.write_text(policy, encoding="utf-8")
        views = f"sqlite+pysqlite:///{self.directory}/views.db"
        base = settings_for("memory://", self.directory)
        self.services = bootstrap(
            base.model_copy(update={"policy_file": path, "views_database_url": views})
        )
        self.policy = PolicySpec.parse(policy)

    def teardown(self) -> None:
        if hasattr(self, "services"):
            self.services.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- rules: what the sources say -----------------------------------------------------

    @rule(
        phone=st.sampled_from(PHONES),
        message_id=st.sampled_from(["wamid.1", "wamid.2", "wamid.3", "wamid.4", "wamid.5"]),
        direction=st.sampled_from(["inbound", "outbound", "outbound by a human"]),
        at=moments,
        sent_at=st.none() | moments,
    )
    def message(
        self, phone: str, message_id: str, direction: str, at: datetime, sent_at: datetime | None
    ) -> None:
        """One WhatsApp message; a message id may come back in either direction."""
        human = direction == "outbound by a human"
        said = Said("human", "ana", at, sent_at) if human else Said("kapso", "kapso", at, sent_at)
        command: LeadCommand
        if direction == "inbound":
            command = RecordInboundMessage(phone, said, message_id=message_id, text="Halo")
        else:
            origin = None if human else "cloud_api"
            command = RecordOutboundMessage(phone, said, message_id=message_id, origin=origin)
        if self.record(command):
            model = self.model(phone, sent_at or at)
            model.message(message_id, direction == "inbound", human, sent_at or at)

    @rule(
        phone=st.sampled_from(PHONES),
        phase=st.sampled_from(sorted(PHASE_STATUS)),
        data=extracted,
        score=st.none() | st.integers(0, 100),
        temperature=st.sampled_from([None, "hot", "warm", "cold"]),
        outcome=st.sampled_from([None, "won", "lost", "not_interested", "rejected"]),
        at=moments,
    )
    def sarah_reports(
        self,
        phone: str,
        phase: str,
        data: dict[str, Any],
        score: int | None,
        temperature: str | None,
        outcome: str | None,
        at: datetime,
    ) -> None:
        command = ReportSarahPhase(
            phone, self.said("sarah", "sarah-bot", at), phase, data, score, temperature, outcome
        )
        if self.record(command):
            self.model(phone, at).sarah(phase, data, score, temperature, outcome, at)

    @rule(
        phone=st.sampled_from(PHONES),
        who=st.sampled_from([("human", "ana"), ("human", "budi"), ("brain", "brain-bot")]),
        status=st.sampled_from([*STATUSES, "bogus"]),
        at=moments,
    )
    def request_status(self, phone: str, who: tuple[str, str], status: str, at: datetime) -> None:
        source, actor = who
        if self.record(RequestStatus(phone, self.said(source, actor, at), status, "said so")):
            self.model(phone, at).request(status, source, actor, at)

    @rule(phone=st.sampled_from(PHONES), at=moments)
    def release(self, phone: str, at: datetime) -> None:
        if self.record(ReleaseStatusHold(phone, self.said("human", "ana", at))):
            self.model(phone, at).release()

    @rule(
        phone=st.sampled_from(PHONES),
        who=st.sampled_from([("human", "ana"), ("brain", "brain-bot"), ("sarah", "sarah-bot")]),
        content=st.sampled_from(["call back tomorrow", "wants the premium plan"]),
        at=moments,
    )
    def note(self, phone: str, who: tuple[str, str], content: str, at: datetime) -> None:
        source, actor = who
        if self.record(AddNote(phone, self.said(source, actor, at), content)):
            self.model(phone, at).note(source, actor, content, at)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """The same delivery again (same message id or idempotency key): nothing changes."""
        command, _ = data.draw(st.sampled_from(self.sent))
        assert not self.record(command), f"a redelivered {command.fact} was recorded again"

    # -- the comparison ------------------------------------------------------------------

    @invariant()
    def views_match_the_model(self) -> None:
        if not hasattr(self, "services"):
            return
        self.services.views.catch_up()
        for phone, model in self.models.items():
            self.compare(phone, model)

    def compare(self, phone: str, model: LeadModel) -> None:
        lead_id = lead_id_for(WORKSPACE, phone)

        def read(conn: Any, tables: Any) -> tuple[Any, list[Any], list[Any]]:
            view = get_view(conn, tables, WORKSPACE, lead_id)
            assert view is not None, f"{phone}: no contact view"
            return view, status_history(conn, tables, view), notes(conn, tables, view)

        view, history, lead_notes = read_views(self.services.engines.read, read)
        holder = model.holder
        expected = {
            "lead_status": holder.status,
            "status_source": holder.source,
            "status_held": holder.held,
            "status_updated_at": holder.at,
            "status_updated_by": holder.by,
            "extracted": model.extracted,
            "sarah_name": model.extracted.get("name"),
            "domisili": model.extracted.get("domisili"),
            "business_type": model.extracted.get("business_type"),
            "pain_points": model.extracted.get("pain_points"),
            "chat_phase": model.chat_phase,
            "lead_score": model.lead_score,
            "lead_temperature": model.lead_temperature,
            "created_at": model.created_at,
            "last_message_at": model.last_message_at,
            "last_inbound_at": model.last_inbound_at,
            "last_outbound_at": model.last_outbound_at,
            "last_contact_at": model.last_contact_at,
            "inbound_count": model.inbound_count,
            "outbound_count": model.outbound_count,
        }
        actual = {name: getattr(view, name) for name in expected}
        assert actual == expected, f"{phone}: {diff(actual, expected)}"
        assert [proposal(entry) for entry in history] == model.history, phone
        assert [(n.source, n.actor, n.content) for n in lead_notes] == model.notes, phone
        low, high = self.stored_between[phone]
        assert low <= view.updated_at <= high, "updated_at is not the last event's store time"

    # -- helpers -------------------------------------------------------------------------

    def said(self, source: str, actor: str, at: datetime) -> Said:
        """A unique idempotency key, so only `redeliver` repeats a delivery."""
        return Said(source, actor, at, None, f"key-{next(self.keys)}")

    def record(self, command: LeadCommand) -> bool:
        """Record through the Ledger; True when it appended a fact."""
        before = datetime.now(UTC)
        recording = self.services.ledger.record(WORKSPACE, [command])
        appended = recording.appended > 0
        if appended:
            self.stored_between[command.phone] = (before, datetime.now(UTC))
        if command not in (sent for sent, _ in self.sent):
            self.sent.append((command, before))
        return appended

    def model(self, phone: str, first_at: datetime) -> LeadModel:
        """The lead's model; created by the lead's first fact, which is its created_at."""
        return self.models.setdefault(phone, LeadModel(self.policy, created_at=first_at))


def proposal(entry: Any) -> Proposal:
    if entry.origin == "release":
        return Proposal(entry.source, entry.from_status, entry.to_status, "release", None)
    because = entry.outcome_reason if entry.outcome == "suppressed" else None
    return Proposal(entry.source, entry.from_status, entry.to_status, entry.outcome, because)


def diff(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Only the fields that differ: (system, oracle)."""
    return {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}


ReadSideOracle.TestCase.settings = settings(
    max_examples=examples(0.5),  # ~2 s each: a new store, 40 steps, 40 catch-ups
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_read_side_matches_the_oracle = ReadSideOracle.TestCase
