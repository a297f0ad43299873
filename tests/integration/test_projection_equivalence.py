"""Properties of the read-model projection, on SQLite and PostgreSQL.

Hypothesis draws a random sequence of commands across 1-4 phones (inbound and outbound
messages, delivery statuses in any order - a status may even precede its message - Sarah
phases whose extracted_data holds nulls, blank strings, empty and partly blank lists and
nested maps, status requests by humans and Brain, releases, notes, exact duplicates, shared
idempotency keys, times in two time zones with ties) and records it through the Ledger in
random batches. The same ledger is then projected:

- live: `catch_up` after every recording (the server's way),
- one event per transaction (page_size=1),
- pages of 3, stopped after a few pages and resumed by a new process (a restart),
- pages of 1000,
- a blue/green `rebuild` into a fresh generation,

and every view table of the active generation must be identical in all of them, and equal
to the pure fold of each lead's events (`domain.reducer.replay`). Then: rewinding the tracking
position (a crash after commit, events read again) changes nothing; a rebuild under another
policy equals a fresh projection started under that policy.

Every example gets a brand-new store: a new SQLite directory, or new PostgreSQL schemas.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, select, update

import projections.catchup
import projections.tracking
from adapters.eventstore.database_url import DatabaseURL
from domain.commands import (
    AddNote,
    LeadCommand,
    RecordConversation,
    RecordInboundMessage,
    RecordMessageStatus,
    RecordOutboundMessage,
    ReleaseStatusHold,
    ReportContactName,
    ReportSarahPhase,
    RequestStatus,
)
from domain.envelope import Said
from domain.extracted import SARAH_KEYS
from domain.idempotency import IdempotencyKeyReusedError
from domain.identity import lead_id_for
from domain.policy import DEFAULT_POLICY, DEFAULT_POLICY_TOML, Policy, load_policy
from domain.reducer import MessageEntry, NoteEntry, StatusHistoryEntry, replay
from domain.values import ChatPhase, LeadStatus
from projections.catchup import LiveViews
from projections.database import Engines, make_engines
from projections.rebuild import rebuild
from projections.search import search_text
from projections.source import head, lead_history
from projections.state import read_state
from projections.tables import view_tables
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import (
    PG_DSN,
    _drop_schema,
    make_url,
    require_postgres,
    settings_for,
    store_per_example,
)
from tests.support import WORKSPACE

PHONES = ("+6281234567890", "+6285712345678", "+6281398765432", "+6281122334455")
# Shares of the profile's budget (tests/conftest.py): each example builds five projections.
EXAMPLES = {"sqlite": 0.1, "postgres": 0.05}
T0 = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)
WIB = timezone(timedelta(hours=7), "WIB")
INBOUND_IDS = ("wamid.in.1", "wamid.in.2", "wamid.in.3")
OUTBOUND_IDS = ("wamid.out.1", "wamid.out.2", "wamid.out.3")
VIEW_TABLES = ("contacts", "history", "notes", "messages")

# Policies that change outcomes in different ways (all valid).
SARAH_FIRST = 'name = "sarah-first"\n[ranks]\nhuman = 3\nsarah = 2\nbrain = 1\nimport = 0\n'
NO_FORWARD_ONLY = (  # Sarah may move back, and ties with Brain
    'name = "free-sarah"\nforward_only = []\n[ranks]\nhuman = 3\nbrain = 2\nsarah = 2\nimport = 0\n'
)
NO_HOLD = 'name = "no-hold"\nhold = []\n'
BRAIN_HOLDS = (
    'name = "brain-holds"\nhold = ["human", "brain"]\n'
    "[ranks]\nhuman = 3\nbrain = 3\nsarah = 0\nimport = 0\n"
)
POLICIES = (SARAH_FIRST, NO_FORWARD_ONLY, NO_HOLD, BRAIN_HOLDS)

Dump = dict[str, list[dict[str, Any]]]


# -- strategies ----------------------------------------------------------------------------

moments = st.builds(
    lambda minutes, tz: (T0 + timedelta(minutes=minutes)).astimezone(tz),
    st.integers(0, 20),  # a small range: ties and out-of-order reports are common
    st.sampled_from([UTC, WIB]),
)
keys = st.none() | st.sampled_from(["k1", "k2", "k3"])


def said(source: str, actors: Sequence[str]) -> st.SearchStrategy[Said]:
    return st.builds(
        Said, st.just(source), st.sampled_from(actors), moments, st.none() | moments, keys
    )


blank: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.sampled_from(["", "   "]), st.builds(list), st.builds(dict)
)
words = st.sampled_from(["Budi", "Bandung", "online shop", "2 tahun", "tinggi", "mahal"])
extracted_value = st.one_of(
    blank,
    words,
    st.lists(st.one_of(words, st.sampled_from(["", None])), max_size=3),
    st.dictionaries(st.sampled_from(["kota", "kecamatan"]), st.one_of(blank, words), max_size=2),
    st.integers(-3, 300),
    st.booleans(),
)
extracted_data = st.dictionaries(
    st.sampled_from((*SARAH_KEYS, "pain_points", "budget", "catatan")), extracted_value, max_size=6
)


def commands_for(phone: st.SearchStrategy[str]) -> st.SearchStrategy[LeadCommand]:
    kapso = said("kapso", ["kapso"])
    inbound = st.builds(
        RecordInboundMessage,
        phone,
        kapso,
        message_id=st.sampled_from(INBOUND_IDS),
        message_type=st.sampled_from(["text", "image"]),
        text=st.none() | st.sampled_from(["Halo kak", "", "Berapa harganya?"]),
        conversation_id=st.none() | st.just("conv-1"),
    )
    outbound = st.builds(
        RecordOutboundMessage,
        phone,
        kapso | said("human", ["ana"]),
        message_id=st.sampled_from(OUTBOUND_IDS),
        text=st.none() | st.just("Terima kasih"),
        origin=st.none() | st.sampled_from(["cloud_api", "human", "inbox"]),
    )
    delivery = st.builds(
        RecordMessageStatus,
        phone,
        kapso,
        # Statuses of outbound messages (and stray ones of inbound), in any order.
        message_id=st.sampled_from(OUTBOUND_IDS + INBOUND_IDS[:1]),
        status=st.sampled_from(["sent", "delivered", "read", "played", "failed"]),
        error_code=st.none() | st.just(131047),
        error_title=st.none() | st.just("Re-engagement message"),
    )
    conversation = st.builds(
        RecordConversation,
        phone,
        kapso,
        conversation_id=st.sampled_from(["conv-1", "conv-2"]),
        change=st.sampled_from(["opened", "ended", "inactive"]),
        detail=st.none() | st.fixed_dictionaries({"since_message_id": st.just("wamid.in.1")}),
    )
    contact_name = st.builds(
        ReportContactName, phone, kapso, name=st.sampled_from(["Budi", "Budi S.", "", "Sari"])
    )
    sarah = st.builds(
        ReportSarahPhase,
        phone,
        said("sarah", ["sarah-bot"]),
        chat_phase=st.sampled_from([*(p.value for p in ChatPhase), "mystery", ""]),
        extracted_data=extracted_data,
        lead_score=st.none() | st.integers(0, 100),
        lead_temperature=st.none() | st.sampled_from(["hot", "warm", "lukewarm", "cold", ""]),
        outcome=st.none() | st.sampled_from(["", "won", "lost", "Not-Interested", "rejected"]),
    )
    request = st.builds(
        RequestStatus,
        phone,
        said("human", ["ana", "budi"]) | said("brain", ["brain-bot"]),
        status=st.sampled_from([*(s.value for s in LeadStatus), "bogus"]),
        reason=st.none() | st.just("manager said so"),
    )
    release = st.builds(ReleaseStatusHold, phone, said("human", ["ana"]))
    note = st.builds(
        AddNote,
        phone,
        said("human", ["ana"]) | said("brain", ["brain-bot"]) | said("sarah", ["sarah-bot"]),
        content=st.sampled_from(["call back tomorrow", "wants the premium plan"]),
    )
    messages = st.one_of(inbound, outbound, delivery, conversation, contact_name)
    statuses = st.one_of(sarah, sarah, request, request, release)
    # Weighted: half of the commands are status facts, so policies have something to decide.
    return st.one_of(messages, statuses, statuses, note)


@dataclass(frozen=True)
class Scenario:
    phones: list[str]
    batches: list[list[LeadCommand]]
    policy: str
    pages_before_restart: int
    rewind_percent: int
    rebuild_page_size: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    phones = draw(st.lists(st.sampled_from(PHONES), min_size=1, max_size=4, unique=True))
    commands = draw(st.lists(commands_for(st.sampled_from(phones)), min_size=12, max_size=40))
    # Exact duplicates (the same delivery again) at any later point.
    for source in draw(st.lists(st.integers(0, len(commands) - 1), max_size=5)):
        commands.insert(draw(st.integers(source + 1, len(commands))), commands[source])
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(commands) - 1)), max_size=6)))
    bounds = [0, *(c for c in cuts if c < len(commands)), len(commands)]
    batches = [commands[a:b] for a, b in itertools.pairwise(bounds) if a < b]
    return Scenario(
        phones=phones,
        batches=batches,
        policy=draw(st.sampled_from(POLICIES)),
        pages_before_restart=draw(st.integers(0, 6)),
        rewind_percent=draw(st.integers(0, 100)),
        rebuild_page_size=draw(st.sampled_from([1, 2, 7, 5000])),
    )


# -- stores --------------------------------------------------------------------------------


@dataclass
class Lab:
    """One example's ledger (via bootstrap) plus any number of separate view databases."""

    backend: str
    directory: Path
    services: Services
    schemas: list[str] = field(default_factory=list)
    opened: list[Engines] = field(default_factory=list)

    def new_views(self) -> DatabaseURL:
        """The location of a brand-new, empty view database (SQLite file / PG schema)."""
        name = f"ll_test_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return DatabaseURL.parse(f"sqlite:///{self.directory}/{name}.db")
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        return DatabaseURL.parse(f"{PG_DSN}?schema={name}")

    def engines(self, location: DatabaseURL) -> Engines:
        engines = make_engines(location)
        self.opened.append(engines)
        return engines

    def live_views(self, location: DatabaseURL, policy: str, page_size: int) -> LiveViews:
        return LiveViews(self.engines(location), self.services.store, policy, page_size)


@contextmanager
def lab(backend: str, base: Path) -> Iterator[Lab]:
    directory = Path(tempfile.mkdtemp(dir=base))
    url, schema = make_url(backend, directory)
    services = bootstrap(settings_for(url, directory))
    made = Lab(backend, directory, services, [schema] if schema else [])
    try:
        yield made
    finally:
        for engines in made.opened:
            engines.dispose()
        services.close()
        for name in made.schemas:
            _drop_schema(name)


def dump(engine: Engine) -> Dump:
    """Every row of the active generation's view tables, in primary-key order."""
    with engine.connect() as conn:
        tables = view_tables(read_state(conn).active_generation)
        found: Dump = {}
        for name in VIEW_TABLES:
            table = getattr(tables, name)
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            found[name] = [dict(row._mapping) for row in rows]
        return found


def oracle(services: Services, phones: Sequence[str], policy: Policy) -> Dump:
    """The same tables computed by the pure reducer, lead by lead (no SQL, no pages)."""
    expected: Dump = {name: [] for name in VIEW_TABLES}
    for phone in phones:
        lead_id = lead_id_for(WORKSPACE, phone)
        events = list(lead_history(services.store, lead_id))
        if not events:
            continue
        view, history, notes, messages = replay(events, policy)
        assert view is not None
        # The writer adds what `?q=` searches (projections/search.py) to the view's row.
        expected["contacts"].append({**view.to_row(), "search_text": search_text(view)})
        expected["history"] += [_history_row(h, view.workspace) for h in history]
        expected["notes"] += [_note_row(n, view.workspace) for n in notes]
        expected["messages"] += [
            _message_row(messages[k], view.workspace) for k in sorted(messages)
        ]
    for name, key in (
        ("contacts", lambda r: r["lead_id"]),
        ("history", lambda r: (r["lead_id"], r["position"])),
        ("notes", lambda r: (r["lead_id"], r["position"])),
        ("messages", lambda r: (r["lead_id"], r["message_id"])),
    ):
        expected[name].sort(key=key)
    return expected


def _history_row(entry: StatusHistoryEntry, workspace: str) -> dict[str, Any]:
    row = {**vars(entry), "lead_id": str(entry.lead_id), "workspace": workspace}
    row["notification_id"] = None  # filled from the ledger only; dropped before comparing
    return row


def _note_row(entry: NoteEntry, workspace: str) -> dict[str, Any]:
    return {**vars(entry), "lead_id": str(entry.lead_id), "workspace": workspace}


def _message_row(entry: MessageEntry, workspace: str) -> dict[str, Any]:
    return {**vars(entry), "lead_id": str(entry.lead_id), "workspace": workspace}


def without_notification_ids(tables: Dump) -> Dump:
    return {
        name: [{k: v for k, v in row.items() if k != "notification_id"} for row in rows]
        for name, rows in tables.items()
    }


def record(services: Services, batch: Sequence[LeadCommand]) -> None:
    """Record one batch. The drawn keys repeat, so a batch may reuse an idempotency key for
    another request: it is refused whole and stores nothing (domain/idempotency.py)."""
    with contextlib.suppress(IdempotencyKeyReusedError):
        services.ledger.record(WORKSPACE, list(batch))


def record_all(services: Services, batches: Sequence[Sequence[LeadCommand]]) -> None:
    for batch in batches:
        record(services, batch)


# -- the properties ------------------------------------------------------------------------


def _rules(policy: Policy) -> tuple[object, ...]:
    return (dict(policy.ranks), policy.forward_only, policy.hold, policy.legacy_status)


def test_policies_are_valid() -> None:
    rules = [_rules(load_policy(text)) for text in POLICIES]
    assert all(a != b for i, a in enumerate(rules) for b in rules[i + 1 :])
    assert all(load_policy(text) != DEFAULT_POLICY for text in POLICIES)


def test_projection_is_independent_of_paging(durable_backend: str, tmp_path: Path) -> None:
    if durable_backend == "postgres":
        require_postgres()

    @store_per_example(EXAMPLES[durable_backend])
    @given(scenario=scenarios())
    def check(scenario: Scenario) -> None:
        with lab(durable_backend, tmp_path) as made:
            services = made.services
            store = services.store
            # Live: the server's follower catches up after each commit.
            for batch in scenario.batches:
                record(services, batch)
                services.views.catch_up()
            top = head(store)
            assert services.views.position() == top
            live = dump(services.engines.read)
            expected = oracle(services, scenario.phones, DEFAULT_POLICY)
            assert without_notification_ids(live) == without_notification_ids(expected)
            # At least one lead, so the comparisons below say something (a scenario whose
            # every batch reused a key for another request recorded nothing).
            assume(live["contacts"])

            # One event per transaction.
            one = made.live_views(made.new_views(), DEFAULT_POLICY_TOML, page_size=1)
            assert one.catch_up() == top
            assert dump(one.engines.read) == live

            # Pages of 3, interrupted, then resumed by a new process from its position.
            where = made.new_views()
            first = made.live_views(where, DEFAULT_POLICY_TOML, page_size=3)
            moved = first.catch_up(max_pages=scenario.pages_before_restart)
            assert moved <= top
            assert first.position() == moved
            first.engines.dispose()
            again = made.live_views(where, DEFAULT_POLICY_TOML, page_size=3)
            assert again.position() == moved
            assert again.catch_up() == top - moved  # resumed, not replayed from the start
            assert dump(again.engines.read) == live

            # Pages of 1000.
            big_at = made.new_views()
            big = made.live_views(big_at, DEFAULT_POLICY_TOML, page_size=1000)
            assert big.catch_up() == top
            assert dump(big.engines.read) == live

            # A blue/green rebuild: the whole ledger replayed into a fresh generation.
            rebuilt = one
            reports: list[tuple[int, int]] = []
            result = rebuild(
                rebuilt.engines.write,
                store,
                DEFAULT_POLICY_TOML,
                lambda done, total: reports.append((done, total)),
                scenario.rebuild_page_size,
            )
            assert (result.generation, result.previous_generation) == (2, 1)
            assert (result.position, result.resumed) == (top, False)
            assert reports
            assert reports[-1][0] == top
            assert all(done <= total for done, total in reports)
            assert [d for d, _ in reports] == sorted({d for d, _ in reports})
            assert dump(rebuilt.engines.read) == live
            with rebuilt.engines.read.connect() as conn:
                assert not inspect(conn).has_table(view_tables(1).contacts.name)  # old one dropped

            # Replay: the position rewound (a crash after commit, events read again).
            back = top * scenario.rewind_percent // 100
            with big.engines.write.begin() as conn:
                tracking = view_tables(1).tracking
                conn.execute(update(tracking).where(tracking.c.id == 1).values(position=back))
            assert big.position() == back
            assert big.catch_up() == top - back
            assert big.position() == top
            assert dump(big.engines.read) == live

            # A policy change: rebuild == a fresh projection under that policy.
            policy = scenario.policy
            changed = rebuild(big.engines.write, store, policy, None, scenario.rebuild_page_size)
            assert (changed.generation, changed.position) == (2, top)
            with big.engines.read.connect() as conn:
                state = read_state(conn)
            assert (state.active_generation, state.active_policy) == (2, policy)
            assert state.building_generation is None
            fresh = made.live_views(made.new_views(), policy, page_size=1000)
            assert fresh.catch_up() == top
            after = dump(big.engines.read)
            assert after == dump(fresh.engines.read)
            event(f"policy changed the views: {after != live}")
            under_policy = oracle(services, scenario.phones, load_policy(policy))
            assert without_notification_ids(after) == without_notification_ids(under_policy)
            # And the live views keep following under the new policy.
            assert big.status().policy == load_policy(policy).name

    check()


# -- exactly once: the page and its position commit together --------------------------------


def _sample_batches() -> list[list[LeadCommand]]:
    at = T0
    kapso = Said("kapso", "kapso", at)
    human = Said("human", "ana", at + timedelta(minutes=5))
    sarah = Said("sarah", "sarah-bot", at + timedelta(minutes=1))
    return [
        [RecordInboundMessage(p, kapso, message_id=f"wamid.in.{i}") for i, p in enumerate(PHONES)],
        [
            ReportSarahPhase(PHONES[0], sarah, "listening", {"name": "Budi", "domisili": None}),
            RequestStatus(PHONES[1], human, status="contacted"),
            AddNote(PHONES[2], human, content="call back"),
            RecordMessageStatus(PHONES[3], kapso, message_id="wamid.out.9", status="read"),
        ],
        [RecordOutboundMessage(PHONES[3], kapso, message_id="wamid.out.9", origin="cloud_api")],
    ]


@pytest.mark.parametrize("fail_on_page", [1, 3])
def test_a_crash_before_commit_rolls_back_rows_and_position(
    durable_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_on_page: int
) -> None:
    """The page's view rows and its tracking position are one transaction: a crash after both
    were written but before the commit leaves neither; the next catch-up redoes the page."""
    with lab(durable_backend, tmp_path) as made:
        record_all(made.services, _sample_batches())
        top = head(made.services.store)
        reference = made.live_views(made.new_views(), DEFAULT_POLICY_TOML, page_size=2)
        reference.catch_up(max_pages=fail_on_page - 1)
        before_crash = dump(reference.engines.read)
        committed = reference.position()

        real_advance = projections.tracking.advance
        calls = 0

        def crashing_advance(*args: Any) -> None:
            nonlocal calls
            calls += 1
            real_advance(*args)  # the rows and the position are written...
            if calls == fail_on_page:
                raise RuntimeError("killed before commit")  # ...but never committed

        monkeypatch.setattr(projections.catchup, "advance", crashing_advance)
        crashed = made.live_views(made.new_views(), DEFAULT_POLICY_TOML, page_size=2)
        with pytest.raises(RuntimeError, match="killed before commit"):
            crashed.catch_up()
        assert crashed.position() == committed
        assert dump(crashed.engines.read) == before_crash

        monkeypatch.setattr(projections.catchup, "advance", real_advance)
        assert crashed.catch_up() == top - committed
        full = made.live_views(made.new_views(), DEFAULT_POLICY_TOML, page_size=1000)
        full.catch_up()
        assert dump(crashed.engines.read) == dump(full.engines.read)
        assert len(dump(full.engines.read)["contacts"]) == len(PHONES)


def test_a_second_catch_up_changes_nothing(durable_backend: str, tmp_path: Path) -> None:
    with lab(durable_backend, tmp_path) as made:
        record_all(made.services, _sample_batches())
        views = made.services.views
        views.catch_up()  # what the writer's inline pass left, if anything
        assert views.position() == head(made.services.store)
        before = dump(made.services.engines.read)
        assert views.catch_up() == 0
        assert dump(made.services.engines.read) == before
        assert sum(len(rows) for rows in before.values()) > len(PHONES)


# -- values an edge accepts must not stop the projection -------------------------------------
# Kapso's models take `message.type`, `kapso.statuses[].status` as free strings (up to 100,000
# characters); the webhooks bound `errors[].code` to 32 bits (`KapsoError`, `MetaError` in
# adapters/webhooks/), but other ledger writers do not: whatever the ledger stores, the views
# must take.


def test_free_text_message_fields_project_on_every_backend(
    durable_backend: str, tmp_path: Path
) -> None:
    with lab(durable_backend, tmp_path) as made:
        kapso = Said("kapso", "kapso", T0)
        odd_status, odd_type = "pending_confirmation_from_carrier", "interactive_button_reply" * 3
        made.services.ledger.record(
            WORKSPACE,
            [
                RecordOutboundMessage(
                    PHONES[0], kapso, message_id="wamid.out.1", message_type=odd_type
                ),
                RecordMessageStatus(PHONES[0], kapso, message_id="wamid.out.1", status=odd_status),
                RecordInboundMessage(PHONES[1], kapso, message_id="wamid.in.1"),
            ],
        )
        views = made.services.views
        views.catch_up()
        assert views.position() == head(made.services.store)
        assert views.status().failures == 0
        tables = dump(made.services.engines.read)
        expected = oracle(made.services, PHONES[:2], DEFAULT_POLICY)
        assert without_notification_ids(tables) == without_notification_ids(expected)
        [message] = [m for m in tables["messages"] if m["message_id"] == "wamid.out.1"]
        assert (message["status"], message["type"]) == (odd_status, odd_type)


@pytest.mark.parametrize("code", [2**31, 2**63], ids=["int32-overflow", "int64-overflow"])
def test_an_out_of_range_error_code_freezes_no_view(
    durable_backend: str, tmp_path: Path, request: pytest.FixtureRequest, code: int
) -> None:
    with lab(durable_backend, tmp_path) as made:
        kapso = Said("kapso", "kapso", T0)
        made.services.ledger.record(
            WORKSPACE,
            [
                RecordOutboundMessage(PHONES[0], kapso, message_id="wamid.out.1"),
                RecordMessageStatus(
                    PHONES[0], kapso, message_id="wamid.out.1", status="failed", error_code=code
                ),
                RecordInboundMessage(PHONES[1], kapso, message_id="wamid.in.1"),
            ],
        )
        made.services.ledger.record(
            WORKSPACE, [AddNote(PHONES[0], Said("human", "ana", T0), content="later fact")]
        )
        views = made.services.views
        views.catch_up()  # must not raise
        assert views.position() == head(made.services.store)
        assert views.status().failures == 0
        tables = dump(made.services.engines.read)
        assert {c["lead_id"] for c in tables["contacts"]} == {
            str(lead_id_for(WORKSPACE, phone)) for phone in PHONES[:2]
        }
        [message] = [m for m in tables["messages"] if m["message_id"] == "wamid.out.1"]
        assert message["status"] == "failed"
        assert [n["content"] for n in tables["notes"]] == ["later fact"]  # the lead moves on
