"""Views applied in the writer's pass (projections/inline.py) equal the follower's.

Hypothesis draws the command sequences of test_projection_equivalence and records them
batch by batch, each batch either through this process's writer (the inline pass projects
it before `record` returns) or as another process would (no inline pass: the follower must
pick it up), with follower catch-ups at random points between. Every view table - contacts,
history, notes, messages, the change feed, view snapshots, set-aside failures - must end
identical to a follower's projection of the same ledger into a fresh database, and equal to
the pure fold; and whenever the views were current before an inline-recorded batch, they
are current when `record` returns (read-your-writes by construction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

import projections.inline
import projections.writer
from domain import reducer
from domain.commands import RecordInboundMessage, ReportSarahPhase
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY, DEFAULT_POLICY_TOML
from projections.source import head
from projections.state import read_state
from projections.tables import view_tables
from service_layer.ledger import BULK_COMMANDS
from tests.conftest import require_postgres, store_per_example
from tests.integration.test_projection_equivalence import (
    PHONES,
    T0,
    Lab,
    lab,
    oracle,
    record,
    scenarios,
    without_notification_ids,
)
from tests.support import WORKSPACE
from tests.support.elsewhere import appending_elsewhere

EXAMPLES = {"sqlite": 0.1, "postgres": 0.05}
# Every table the projection writes, but its tracking row (checked as a position) and the
# failures' wall-clock time of setting aside.
TABLES = ("contacts", "history", "notes", "messages", "changes", "snapshots", "failures")
MODES = ("inline", "elsewhere", "inline-then-catch-up")

Dump = dict[str, list[dict[str, Any]]]


def dump_all(engine: Engine) -> Dump:
    with engine.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        found: Dump = {}
        for name in TABLES:
            table = getattr(tables, name)
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            found[name] = [
                {k: v for k, v in row._mapping.items() if not (name == "failures" and k == "at")}
                for row in rows
            ]
        return found


def follower_copy(made: Lab) -> Dump:
    """The same ledger projected by the follower alone into a brand-new database."""
    fresh = made.live_views(made.new_views(), DEFAULT_POLICY_TOML, page_size=1000)
    fresh.catch_up()
    return dump_all(fresh.engines.read)


def test_inline_views_equal_the_followers(durable_backend: str, tmp_path: Path) -> None:
    if durable_backend == "postgres":
        require_postgres()

    @store_per_example(EXAMPLES[durable_backend])
    @given(scenario=scenarios(), data=st.data())
    def check(scenario: Any, data: st.DataObject) -> None:
        modes = data.draw(
            st.lists(
                st.sampled_from(MODES),
                min_size=len(scenario.batches),
                max_size=len(scenario.batches),
            )
        )
        with lab(durable_backend, tmp_path) as made:
            services = made.services
            views, store = services.views, services.store
            for batch, mode in zip(scenario.batches, modes, strict=True):
                current_before = views.position() == head(store)
                if mode == "elsewhere":
                    with appending_elsewhere(services):
                        record(services, batch)
                    continue
                record(services, batch)
                if current_before:  # read-your-writes: no follower ran in this test
                    assert views.position() == head(store)
                if mode == "inline-then-catch-up":
                    views.catch_up()
            views.catch_up()  # what the inline pass left to the follower
            assert views.position() == head(store)
            inline = dump_all(services.engines.read)
            assume(inline["contacts"])
            assert inline == follower_copy(made)
            expected = oracle(services, scenario.phones, DEFAULT_POLICY)
            core = {name: inline[name] for name in expected}
            assert without_notification_ids(core) == without_notification_ids(expected)
            if modes[0] != "elsewhere":
                assert services.inline.applied > 0

    check()


def test_answers_find_the_views_current(durable_backend: str, tmp_path: Path) -> None:
    """No follower runs: each recorded batch is in the views when `record` returns."""
    with lab(durable_backend, tmp_path) as made:
        services = made.services
        for i, phone in enumerate(PHONES):
            kapso = Said("kapso", "kapso", T0)
            services.ledger.record(
                WORKSPACE, [RecordInboundMessage(phone, kapso, message_id=f"wamid.in.{i}")]
            )
            assert services.views.position() == head(services.store)
            assert len(dump_all(services.engines.read)["contacts"]) == i + 1
        assert services.inline.applied == len(PHONES)
        assert services.inline.skipped == 0


def test_a_failing_view_transaction_keeps_the_append(
    durable_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The views' database refuses: the delivery is still recorded, the views stay where
    they were, and the follower brings them up to the same tables later."""
    with lab(durable_backend, tmp_path) as made:
        services = made.services
        sarah = Said("sarah", "sarah-bot", T0)
        services.ledger.record(WORKSPACE, [RecordInboundMessage(PHONES[0], sarah)])
        before = services.views.position()

        def refusing(*_: Any) -> None:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(projections.inline, "apply_page_isolating", refusing)
        recorded = services.ledger.record(
            WORKSPACE, [ReportSarahPhase(PHONES[0], sarah, "listening", {"name": "Budi"})]
        )
        assert recorded.appended == 1
        assert services.views.position() == before < head(services.store)
        assert services.inline.skipped == 1
        monkeypatch.undo()
        services.views.catch_up()
        assert dump_all(services.engines.read) == follower_copy(made)


def test_a_lead_the_views_cannot_take_is_set_aside_not_refused(
    durable_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reducer error on one lead: that lead is set aside exactly as the follower sets it
    aside, the other leads of the same batch are projected, every delivery is recorded."""
    real_apply = reducer.apply  # what projections/writer.py calls
    bad = lead_id_for(WORKSPACE, PHONES[1])

    def failing_on_one_lead(before: Any, event: Any, *args: Any) -> Any:
        if event.type == "InboundMessageReceived" and event.lead_id == bad:
            raise ValueError("the views cannot take this")
        return real_apply(before, event, *args)

    with lab(durable_backend, tmp_path) as made:
        services = made.services
        monkeypatch.setattr(projections.writer, "apply", failing_on_one_lead)
        kapso = Said("kapso", "kapso", T0)
        recorded = services.ledger.record(
            WORKSPACE,
            [
                RecordInboundMessage(p, kapso, message_id=f"wamid.in.{i}")
                for i, p in enumerate(PHONES)
            ],
        )
        assert recorded.appended == len(PHONES)
        assert services.views.position() == head(services.store)
        inline = dump_all(services.engines.read)
        assert len(inline["failures"]) == 1
        assert len(inline["contacts"]) == len(PHONES) - 1
        assert inline == follower_copy(made)


def test_a_large_request_is_left_to_the_follower_then_the_pass_resumes(
    durable_backend: str, tmp_path: Path
) -> None:
    """A chunk of a large request is not projected in the writer's pass (its views would
    hold up the small requests behind it), nor is what follows until the follower caught
    up; then the pass takes appends again. Either way the tables are the follower's."""
    with lab(durable_backend, tmp_path) as made:
        services = made.services
        kapso = Said("kapso", "kapso", T0)
        large = [
            RecordInboundMessage(PHONES[i % len(PHONES)], kapso, message_id=f"wamid.bulk.{i}")
            for i in range(BULK_COMMANDS + 10)
        ]
        services.ledger.record(WORKSPACE, large)
        assert services.views.position() < head(services.store)
        assert services.inline.applied == 0
        services.ledger.record(WORKSPACE, [RecordInboundMessage(PHONES[0], kapso, message_id="x")])
        assert services.views.position() < head(services.store)  # still behind: left too
        services.views.catch_up()
        services.ledger.record(WORKSPACE, [RecordInboundMessage(PHONES[1], kapso, message_id="y")])
        assert services.views.position() == head(services.store)  # the pass resumed
        assert services.inline.applied == 1
        assert dump_all(services.engines.read) == follower_copy(made)
