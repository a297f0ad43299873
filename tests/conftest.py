"""Shared fixtures: every backend-parametrised test runs in memory, on SQLite and PostgreSQL.

PostgreSQL tests skip when the local server is unreachable, except under CI=true where
they must run: there an unreachable server is a failure, never a skip.

Hypothesis budgets come from a profile (docs/testing.md): `dev` (the default, fast) or
`ci` (chosen when CI=true), or any profile named by HYPOTHESIS_PROFILE. A test that is
costlier per example takes a share of the profile's budget (`examples`), never a fixed cap.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from adapters.config.settings import Settings
from api.http.app import create_app
from service_layer.bootstrap import Services, bootstrap
from tests.support import workspaces_toml

PG_DSN = os.environ.get("LEADLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

# CI: budgets that find bugs and keep the whole suite far below the job's 90 minutes;
# no deadline (shared runners stall), no example database (the runner is thrown away).
settings.register_profile("ci", max_examples=200, deadline=None, database=None, print_blob=True)
# Local runs: a quick pass; the example database replays past failures first.
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


def examples(share: float) -> int:
    """`share` of the profile's max_examples (at least 1), for costly examples."""
    return max(1, round(settings().max_examples * share))


def store_per_example(share: float) -> settings:
    """For a property whose every example builds a store: `share` of the budget, no example
    database (its stores are gone), and the health checks such examples trip by design off."""
    return settings(
        max_examples=examples(share),
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


def require_postgres() -> None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


def _drop_schema(schema: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def make_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    if backend == "memory":
        return "memory://", None
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db", None
    require_postgres()
    schema = f"ll_test_{uuid.uuid4().hex[:12]}"
    return f"{PG_DSN}?schema={schema}", schema


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def database_at(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database of this backend; a PostgreSQL schema is dropped afterwards."""
    url, schema = make_url(backend, tmp_path)
    try:
        yield url
    finally:
        if schema:
            _drop_schema(schema)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with database_at(backend, tmp_path) as url:
        yield url


@pytest.fixture
def durable_database_url(durable_backend: str, tmp_path: Path) -> Iterator[str]:
    with database_at(durable_backend, tmp_path) as url:
        yield url


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    """Two workspaces (tests/support/workspaces.py), each with its own key, secrets and number."""
    config = tmp_path / "workspaces.toml"
    # Written whole, then renamed: settings built at once in several threads never read a
    # half-written file.
    partial = tmp_path / f"workspaces.toml.{uuid.uuid4().hex}"
    partial.write_text(workspaces_toml(), encoding="utf-8")
    partial.replace(config)
    return Settings(database_url=database_url, config_file=config, max_body_bytes=64 * 1024)


@contextmanager
def services_at(backend: str, tmp_path: Path) -> Iterator[Services]:
    """The services of the test settings on a new database of this backend."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    with database_at(backend, tmp_path) as url:
        built = bootstrap(settings_for(url, tmp_path))
        try:
            yield built
        finally:
            built.close()


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = bootstrap(settings_for(database_url, tmp_path))
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.service)) as test_client:
        yield test_client
