"""A rebuild folded by two processes, split by lead-id hash (projections/parallel_fill.py),
on SQLite (scratch files merged in one transaction) and PostgreSQL (shared tables, a
tracking row per partition): the result is row for row what one process builds, verify
finds no difference, and no scratch file is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections import rebuild as rebuild_module
from projections.state import read_state
from projections.verify import verify
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.integration.test_rebuild import busy_ledger, dump, record


@pytest.fixture
def durable(durable_database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = bootstrap(settings_for(durable_database_url, tmp_path))
    yield built
    built.close()


def test_two_processes_build_what_one_builds(
    durable: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record(durable, busy_ledger(leads=80, commands=1500, seed=31))
    service = durable.service
    policy = service.active_policy_text()
    alone = service.rebuild_views(policy, None, 200, workers=1)
    by_one = dump(durable.engines.read)
    monkeypatch.setattr(rebuild_module, "MIN_EVENTS", 0)  # this small ledger, too
    seen: list[tuple[int, int]] = []
    shared = service.rebuild_views(policy, lambda done, total: seen.append((done, total)), 200, 2)
    assert shared.generation == alone.generation + 1
    assert shared.position == alone.position
    with durable.engines.read.connect() as conn:
        assert read_state(conn).active_generation == shared.generation
    assert dump(durable.engines.read) == by_one
    assert verify(durable.engines.write, durable.store).differences == []
    assert seen
    assert seen[-1][0] == seen[-1][1]
    assert not [p for p in tmp_path.rglob("*.rebuild-g*")]  # scratch files are gone
