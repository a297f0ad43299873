"""Blue/green rebuilds, verify and the `leadledger projections` CLI, on SQLite and PostgreSQL.

- A rebuild killed midway (SIGKILL, in a real subprocess) leaves the live view serving,
  correct and following the ledger; running it again resumes from the building
  generation's own position; `verify` then finds no difference.
- `rebuild --policy FILE` re-derives statuses under the new policy and stores it as the
  active policy; live catch-ups then decide under it.
- `status` and `verify` report what they should, with the right exit codes.
- Readers keep the full old view while a rebuild builds, and see the new one after the switch.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, delete, func, inspect, select, update

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.keys.master_key_source import MasterKeySource
from adapters.webhooks.traffic import BUSINESSES, CITIES, NAMES, PHASES, phone_for
from domain.commands import (
    AddNote,
    LeadCommand,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReleaseStatusHold,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY_TOML, load_policy
from projections import queries
from projections.catchup import LiveViews
from projections.database import Engines, make_engines
from projections.rebuild import rebuild
from projections.source import head
from projections.state import read_state
from projections.tables import ViewTables, view_tables
from projections.tracking import position
from projections.verify import verify
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import PG_DSN, _drop_schema, settings_for
from tests.support import WORKSPACE
from tests.support.elsewhere import appending_elsewhere

LEADLEDGER = Path(sys.executable).with_name("leadledger")
T0 = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)
CLI_TIMEOUT = 120.0
KILL_DEADLINE = 60.0
VIEW_TABLES = ("contacts", "history", "notes", "messages", "changes")  # those verify compares
# Sarah outranks Brain and may move backwards: changes the outcome of the cases below.
SARAH_DECIDES = """\
name = "sarah-decides"
forward_only = []

[ranks]
human = 4
sarah = 3
brain = 2
import = 0
"""
Dump = dict[str, list[dict[str, Any]]]


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def durable(durable_database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = bootstrap(settings_for(durable_database_url, tmp_path))
    yield built
    built.close()


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLEDGER_")}
    env.update(
        LEADLEDGER_DATABASE_URL=database_url,
        LEADLEDGER_DATA_DIR=str(tmp_path),
        LEADLEDGER_API_KEYS=f"{WORKSPACE}=k",
        COLUMNS="200",  # rich tables: no wrapped cells
    )
    # The master key this test process wraps lead keys with (PostgreSQL's default key file
    # is relative to the data directory, which the CLI is given as tmp_path).
    url = DatabaseURL.parse(database_url)
    key_file = MasterKeySource.for_settings(Settings(database_url=database_url), url).file
    if key_file is not None:
        env["LEADLEDGER_MASTER_KEY_FILE"] = str(key_file.resolve())
    return env


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


def run_cli(args: Sequence[str], database_url: str, tmp_path: Path) -> CliResult:
    assert LEADLEDGER.exists(), LEADLEDGER
    done = subprocess.run(
        [str(LEADLEDGER), "projections", *args],
        env=cli_env(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def dump(engine: Engine, generation: int | None = None) -> Dump:
    """Every row of the view tables (default: the active generation), in key order."""
    with engine.connect() as conn:
        tables = view_tables(
            read_state(conn).active_generation if generation is None else generation
        )
        return {
            name: [
                dict(row._mapping)
                for row in conn.execute(
                    select(getattr(tables, name)).order_by(
                        *getattr(tables, name).primary_key.columns
                    )
                )
            ]
            for name in VIEW_TABLES
        }


def exists(conn: Connection, tables: ViewTables) -> bool:
    return inspect(conn).has_table(tables.tracking.name)


def contact(engine: Engine, phone: str) -> dict[str, Any]:
    lead_id = str(lead_id_for(WORKSPACE, phone))
    [row] = [r for r in dump(engine)["contacts"] if r["lead_id"] == lead_id]
    return row


def history(engine: Engine, phone: str) -> list[dict[str, Any]]:
    lead_id = str(lead_id_for(WORKSPACE, phone))
    return [r for r in dump(engine)["history"] if r["lead_id"] == lead_id]


def count_contacts(engine: Engine) -> int:
    """A reader's question, asked the way the API asks it (the active generation)."""

    def read(conn: Connection, tables: ViewTables) -> int:
        return int(conn.execute(select(func.count()).select_from(tables.contacts)).scalar_one())

    return queries.read_views(engine, read)


@contextmanager
def fresh_views(services: Services, tmp_path: Path) -> Iterator[Engines]:
    """A separate, empty view database over the same ledger (SQLite file / PG schema)."""
    name = f"ll_test_{uuid.uuid4().hex[:12]}"
    if services.database.kind == "sqlite":
        location = DatabaseURL.parse(f"sqlite:///{tmp_path}/{name}.db")
    else:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        location = DatabaseURL.parse(f"{PG_DSN}?schema={name}")
    engines = make_engines(location)
    try:
        yield engines
    finally:
        engines.dispose()
        if services.database.kind == "postgres":
            _drop_schema(name)


def busy_ledger(leads: int, commands: int, seed: int = 11) -> list[list[LeadCommand]]:
    """Seeded, realistic traffic (adapters/webhooks/traffic.py's people), recorded 100 commands
    at a time."""
    rng = random.Random(seed)
    made: list[LeadCommand] = []
    for i in range(commands):
        phone = phone_for(rng.randrange(leads))
        at = T0 + timedelta(seconds=i)
        kapso = Said("kapso", "kapso", at, at - timedelta(seconds=rng.randrange(30)))
        roll = rng.random()
        if roll < 0.45:
            made.append(RecordInboundMessage(phone, kapso, message_id=f"wamid.in.{i}", text="Oke"))
        elif roll < 0.6:
            made.append(RecordOutboundMessage(phone, kapso, message_id=f"wamid.out.{i}"))
            for status in rng.sample(["sent", "delivered", "read"], rng.randint(1, 3)):
                made.append(
                    RecordMessageStatus(phone, kapso, message_id=f"wamid.out.{i}", status=status)
                )
        elif roll < 0.8:
            data = {
                "name": rng.choice([*NAMES, None, ""]),
                "business_type": rng.choice([*BUSINESSES, None]),
                "domisili": rng.choice([*CITIES, None, ""]),
                "pain_points": rng.choice([[], ["harga"], ["stok", ""], None]),
            }
            outcome = rng.choice([None, "won", "lost"])
            made.append(
                ReportSarahPhase(
                    phone,
                    Said("sarah", "sarah-bot", at),
                    rng.choice(PHASES),
                    data,
                    rng.randint(0, 100),
                    rng.choice(["hot", "warm", "cold"]),
                    outcome,
                )
            )
        elif roll < 0.9:
            source = rng.choice(["brain", "human"])
            made.append(
                RequestStatus(
                    phone,
                    Said(source, f"{source}-1", at),
                    status=rng.choice(["qualified", "contacted", "converted"]),
                )
            )
        elif roll < 0.95:
            made.append(ReleaseStatusHold(phone, Said("human", "ana", at)))
        else:
            made.append(AddNote(phone, Said("human", "ana", at), content=f"note {i}"))
    return [made[i : i + 100] for i in range(0, len(made), 100)]


def record(services: Services, batches: Sequence[Sequence[LeadCommand]]) -> None:
    for batch in batches:
        services.ledger.record(WORKSPACE, list(batch))


def policy_cases(at: datetime = T0) -> list[LeadCommand]:
    """Two leads whose status the default policy and SARAH_DECIDES decide differently.

    A: Brain says converted, later Sarah's `listening` (qualified): by default Sarah ranks
    below Brain (lower_priority); under SARAH_DECIDES she outranks it and may move back.
    B: Sarah `solution_match` (contacted), then `listening`: by default a backward_move.
    """
    a, b = phone_for(900), phone_for(901)
    minute = timedelta(minutes=1)
    return [
        RecordInboundMessage(a, Said("kapso", "kapso", at), message_id="wamid.a.1"),
        RecordInboundMessage(b, Said("kapso", "kapso", at), message_id="wamid.b.1"),
        RequestStatus(a, Said("brain", "brain-1", at + minute), status="converted"),
        ReportSarahPhase(b, Said("sarah", "sarah-bot", at + minute), "solution_match", {}),
        ReportSarahPhase(a, Said("sarah", "sarah-bot", at + 2 * minute), "listening", {}),
        ReportSarahPhase(b, Said("sarah", "sarah-bot", at + 2 * minute), "listening", {}),
    ]


# -- (a) a rebuild killed midway -----------------------------------------------------------


def test_a_killed_rebuild_leaves_the_live_view_serving_and_resumes(
    durable: Services, durable_database_url: str, tmp_path: Path
) -> None:
    services, engines = durable, durable.engines
    record(services, busy_ledger(leads=150, commands=2400))
    services.views.catch_up()
    top = head(services.store)
    assert top > 2000
    live_before = dump(engines.read)
    leads = count_contacts(engines.read)
    assert leads == len(live_before["contacts"]) > 100

    out, err = tmp_path / "rebuild.out", tmp_path / "rebuild.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [str(LEADLEDGER), "projections", "rebuild", "--page-size", "100"],
            env=cli_env(durable_database_url, tmp_path),
            stdout=stdout,
            stderr=stderr,
        )
    try:
        # Watch (as a reader: no lock, so no starving SQLite's unfair write lock) until it is
        # building and has committed pages; freeze it (SIGSTOP: it can no longer switch),
        # make sure it has not switched yet, then kill it.
        deadline = time.monotonic() + KILL_DEADLINE
        building: int | None = None
        while True:
            assert proc.poll() is None, f"rebuild ended before the kill: {err.read_text()}"
            with engines.read.connect() as conn:
                building = read_state(conn).building_generation
                if (
                    building is not None
                    and exists(conn, view_tables(building))
                    and position(conn, view_tables(building)) > 0
                ):
                    break
            assert time.monotonic() < deadline, "the rebuild never committed a page"
            time.sleep(0.005)
        proc.send_signal(signal.SIGSTOP)
        with engines.read.connect() as conn:
            assert read_state(conn).building_generation == building, "switched before the stop"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    # The live view is untouched, still answers, and is correct.
    with engines.read.connect() as conn:
        state = read_state(conn)
        killed_at = position(conn, view_tables(building))
    assert (state.active_generation, state.active_policy) == (1, DEFAULT_POLICY_TOML)
    assert (state.building_generation, state.building_policy) == (building, DEFAULT_POLICY_TOML)
    assert 0 < killed_at <= top
    assert count_contacts(engines.read) == leads
    assert dump(engines.read) == live_before
    status = services.views.status()
    assert (status.generation, status.position, status.head) == (1, top, top)
    assert (status.building_generation, status.building_position) == (building, killed_at)
    shown = run_cli(["status"], durable_database_url, tmp_path)
    assert shown.code == 0, shown.err
    [rebuilding] = [line for line in shown.out.splitlines() if "(rebuilding)" in line]
    assert [c.strip() for c in rebuilding.split("│")[1:4]] == [
        "lead_views (rebuilding)",
        str(building),
        str(killed_at),
    ]
    checked = verify(engines.write, services.store, page_size=500)
    assert checked.differences == []
    assert (checked.position, checked.rows_compared) == (top, sum(map(len, live_before.values())))

    # The live view keeps following the ledger.
    newcomer = phone_for(5000)
    services.ledger.record(
        WORKSPACE,
        [
            RecordInboundMessage(newcomer, Said("kapso", "kapso", T0), message_id="wamid.new"),
            RequestStatus(newcomer, Said("brain", "brain-1", T0), status="qualified"),
        ],
    )
    new_top = head(services.store)
    services.views.catch_up()  # whatever the writer's inline pass left
    assert services.views.position() == new_top
    assert contact(engines.read, newcomer)["lead_status"] == "qualified"
    live_after = dump(engines.read)

    # Running it again resumes the building generation from its own position.
    reports: list[tuple[int, int]] = []
    result = rebuild(
        engines.write,
        services.store,
        DEFAULT_POLICY_TOML,
        lambda d, t: reports.append((d, t)),
        100,
    )
    assert result.resumed
    assert (result.generation, result.previous_generation) == (building, 1)
    assert (result.position, result.events_read) == (new_top, new_top - killed_at)
    assert reports[0][0] > killed_at
    assert reports[-1] == (new_top, new_top)
    with engines.read.connect() as conn:
        state = read_state(conn)
        assert not exists(conn, view_tables(1))  # the old generation is dropped
    assert (state.active_generation, state.building_generation) == (building, None)
    assert dump(engines.read) == live_after
    assert verify(engines.write, services.store).differences == []


# -- (b) a policy change through the CLI ----------------------------------------------------


def test_rebuild_with_another_policy_re_derives_statuses(
    durable: Services, durable_database_url: str, tmp_path: Path
) -> None:
    services, engines = durable, durable.engines
    a, b = phone_for(900), phone_for(901)
    record(services, [*busy_ledger(leads=20, commands=150, seed=3), policy_cases()])
    services.views.catch_up()
    top = head(services.store)
    assert (contact(engines.read, a)["lead_status"], contact(engines.read, b)["lead_status"]) == (
        "converted",
        "contacted",
    )
    sarah_on_a = [h for h in history(engines.read, a) if h["source"] == "sarah"]
    assert [(h["outcome"], h["outcome_reason"]) for h in sarah_on_a] == [
        ("suppressed", "lower_priority")
    ]
    policy_file = tmp_path / "sarah-decides.toml"
    policy_file.write_text(SARAH_DECIDES, encoding="utf-8")

    done = run_cli(
        ["rebuild", "--policy", str(policy_file), "--page-size", "100"],
        durable_database_url,
        tmp_path,
    )

    assert done.code == 0, done.err
    assert "Rebuild finished: generation 2 is live (was 1)" in done.out
    assert f"ledger position {top}" in done.out
    assert "rebuilding" in done.err
    assert f"{top}/{top}" in done.err  # the progress bar reached the head
    with engines.read.connect() as conn:
        state = read_state(conn)
    assert (state.active_generation, state.active_policy) == (2, SARAH_DECIDES)
    assert (state.building_generation, state.building_policy) == (None, None)
    for phone in (a, b):
        row = contact(engines.read, phone)
        assert (row["lead_status"], row["status_source"]) == ("qualified", "sarah")
    sarah_on_a = [h for h in history(engines.read, a) if h["source"] == "sarah"]
    assert [(h["outcome"], h["outcome_reason"]) for h in sarah_on_a] == [
        ("applied", "higher_priority")
    ]
    assert services.views.status().policy == "sarah-decides"
    assert verify(engines.write, services.store).differences == []

    # Live catch-ups (any process) now decide under the stored policy.
    services.ledger.record(
        WORKSPACE,
        [RequestStatus(a, Said("brain", "brain-1", T0 + timedelta(hours=1)), status="contacted")],
    )
    services.views.catch_up()
    last = history(engines.read, a)[-1]
    assert (last["source"], last["outcome"], last["outcome_reason"]) == (
        "brain",
        "suppressed",
        "lower_priority",
    )

    # A bad policy file is refused before anything changes.
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "typo"\nrank = { human = 1 }\n', encoding="utf-8")
    refused = run_cli(["rebuild", "--policy", str(bad)], durable_database_url, tmp_path)
    assert refused.code == 2
    assert "unknown policy keys: rank" in refused.err
    with engines.read.connect() as conn:
        assert read_state(conn) == state


# -- (c) status and verify -----------------------------------------------------------------


def test_status_and_verify_report_and_exit_codes(
    durable: Services, durable_database_url: str, tmp_path: Path
) -> None:
    services, engines = durable, durable.engines
    record(services, busy_ledger(leads=10, commands=80, seed=5))
    services.views.catch_up()
    applied = head(services.store)
    newcomer = phone_for(777)
    with appending_elsewhere(services):
        services.ledger.record(  # three events not yet in the views
            WORKSPACE,
            [
                RecordInboundMessage(newcomer, Said("kapso", "kapso", T0), message_id="wamid.s.1"),
                AddNote(newcomer, Said("human", "ana", T0), content="call back"),
            ],
        )
    top = head(services.store)
    assert top == applied + 3

    shown = run_cli(["status"], durable_database_url, tmp_path)
    assert shown.code == 0, shown.err
    [line] = [line for line in shown.out.splitlines() if "│ lead_views " in line]
    assert [c.strip() for c in line.split("│")[1:-1]] == [
        "lead_views",
        "1",
        str(applied),
        str(top),
        "3",
        "0",
        "default",
    ]
    assert "(rebuilding)" not in shown.out

    same = run_cli(["verify", "--page-size", "100"], durable_database_url, tmp_path)
    assert same.code == 0, same.out + same.err
    rows = sum(map(len, dump(engines.read).values()))
    assert f"OK: {rows} rows identical at position {top}." in same.out
    assert services.views.position() == top  # verify brought the live view to the head

    corrupted = str(lead_id_for(WORKSPACE, newcomer))
    contacts = view_tables(1).contacts
    with engines.write.begin() as conn:
        changed = conn.execute(
            update(contacts).where(contacts.c.lead_id == corrupted).values(lead_status="archived")
        )
        assert changed.rowcount == 1
    different = run_cli(["verify", "--page-size", "100"], durable_database_url, tmp_path)
    assert different.code == 1, different.out + different.err
    [reported] = [line for line in different.out.splitlines() if corrupted in line]
    assert [c.strip() for c in reported.split("│")[1:-1]] == [
        "ll_contacts",
        corrupted,
        "lead_status",
        "'archived'",
        "'new'",
    ]
    assert "1 difference(s)" in different.out


def test_verify_names_exactly_the_row_that_is_missing(durable: Services) -> None:
    services, engines = durable, durable.engines
    phones = [phone_for(i) for i in range(5)]
    record(
        services,
        [[AddNote(p, Said("human", "ana", T0), content="call back") for p in phones]],
    )
    services.views.catch_up()
    notes = view_tables(1).notes
    with engines.write.begin() as conn:
        keys = conn.execute(
            select(notes.c.lead_id, notes.c.position).order_by(notes.c.lead_id, notes.c.position)
        ).all()
        assert len(keys) == len(phones)
        gone = keys[1]  # not the last one: rows after it exist in both
        conn.execute(delete(notes).where(notes.c.lead_id == gone.lead_id))

    result = verify(engines.write, services.store)

    assert [(d.table, d.key, d.column) for d in result.differences] == [
        ("ll_notes", f"{gone.lead_id}/{gone.position}", "*")
    ]


def test_rebuild_and_verify_survive_an_event_the_database_refuses(
    durable: Services, request: pytest.FixtureRequest
) -> None:
    """Ledger writers other than the webhooks (whose `KapsoError` and `MetaError` bound the
    error code to 32 bits) may store any int as a delivery error code; the live catch-up sets
    an event the database refuses aside. A rebuild (after a fix, the documented way to
    re-derive everything) and verify must not die on it."""
    services, engines = durable, durable.engines
    phone, other = phone_for(1), phone_for(2)
    kapso = Said("kapso", "kapso", T0)
    services.ledger.record(
        WORKSPACE,
        [
            RecordOutboundMessage(phone, kapso, message_id="wamid.out.1"),
            RecordMessageStatus(
                phone, kapso, message_id="wamid.out.1", status="failed", error_code=2**31
            ),
            RecordInboundMessage(other, kapso, message_id="wamid.in.1"),
        ],
    )
    services.views.catch_up()
    top = head(services.store)
    assert services.views.position() == top

    checked = verify(engines.write, services.store)
    assert checked.differences == []
    result = rebuild(engines.write, services.store, DEFAULT_POLICY_TOML)
    assert (result.generation, result.position) == (2, top)
    assert contact(engines.read, other)["inbound_count"] == 1


# -- (d) readers during a rebuild ------------------------------------------------------------


def test_readers_keep_the_full_old_view_until_the_switch(durable: Services, tmp_path: Path) -> None:
    services, engines = durable, durable.engines
    a = phone_for(900)
    record(services, [*busy_ledger(leads=15, commands=100, seed=9), policy_cases()])
    services.views.catch_up()
    top = head(services.store)
    expected_live = dump(engines.read)
    leads = len(expected_live["contacts"])
    seen: list[int] = []

    def while_building(done: int, total: int) -> None:
        nonlocal expected_live
        with engines.read.connect() as conn:
            state = read_state(conn)
            assert (state.active_generation, state.building_generation) == (1, 2)
            assert position(conn, view_tables(2)) == done
            building_rows = conn.execute(
                select(func.count()).select_from(view_tables(2).contacts)
            ).scalar_one()
        assert total >= done
        # Readers get the whole old view, never the half-built one.
        assert dump(engines.read) == expected_live
        assert count_contacts(engines.read) == len(expected_live["contacts"])
        if not seen:
            assert done < top
            assert building_rows < leads
            # A write lands mid-rebuild: the live view shows it at once (old policy).
            services.ledger.record(
                WORKSPACE,
                [
                    RequestStatus(
                        a, Said("brain", "brain-1", T0 + timedelta(hours=1)), status="contacted"
                    )
                ],
            )
            services.views.catch_up()  # whatever the writer's inline pass left
            assert services.views.position() == top + 1
            expected_live = dump(engines.read)
            assert history(engines.read, a)[-1]["outcome"] == "applied"
        seen.append(done)

    result = rebuild(engines.write, services.store, SARAH_DECIDES, while_building, page_size=10)

    assert len(seen) >= 3
    assert seen == sorted(seen)
    assert (result.generation, result.position) == (2, top + 1)
    # After the switch: the new policy's view, including the event written mid-rebuild.
    with fresh_views(services, tmp_path) as fresh_engines:
        fresh = LiveViews(fresh_engines, services.store, SARAH_DECIDES)
        assert fresh.catch_up() == top + 1
        assert dump(engines.read) == dump(fresh_engines.read)
    assert dump(engines.read) != expected_live  # the policy changed what readers see
    assert history(engines.read, a)[-1]["outcome_reason"] == "lower_priority"
    assert load_policy(SARAH_DECIDES).name == services.views.status().policy
