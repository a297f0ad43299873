"""Which generation of view tables is live, and under which policy (one row per projection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from domain.policy import Policy, load_policy_in_force
from projections.tables import PROJECTION, projection_state, state_metadata, view_tables


@dataclass(frozen=True)
class ProjectionState:
    active_generation: int
    active_policy: str
    building_generation: int | None
    building_policy: str | None


def ensure_state(engine: Engine, initial_policy_text: str) -> None:
    """Create the state table and the first generation, once (safe to call concurrently)."""
    state_metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(select(projection_state.c.name)).first() is None:
            view_tables(1).metadata.create_all(conn, checkfirst=True)
            conn.execute(
                insert(projection_state).values(
                    name=PROJECTION,
                    active_generation=1,
                    active_policy=initial_policy_text,
                    touched_at=datetime.now(UTC),
                )
            )
        else:
            # The active set may be missing if a crash hit between state and DDL; recreate.
            state = read_state(conn)
            view_tables(state.active_generation).metadata.create_all(conn, checkfirst=True)


def lock_state(conn: Connection) -> ProjectionState:
    """Read the state under the projection's write lock (a row lock on PostgreSQL; SQLite's
    writers already hold the database lock): catch-ups and swaps serialise on it."""
    conn.execute(
        update(projection_state)
        .where(projection_state.c.name == PROJECTION)
        .values(touched_at=datetime.now(UTC))
    )
    return read_state(conn)


def read_state(conn: Connection) -> ProjectionState:
    row = conn.execute(select(projection_state).where(projection_state.c.name == PROJECTION)).one()
    return ProjectionState(
        row.active_generation, row.active_policy, row.building_generation, row.building_policy
    )


def set_building(conn: Connection, generation: int | None, policy_text: str | None) -> None:
    conn.execute(
        update(projection_state)
        .where(projection_state.c.name == PROJECTION)
        .values(building_generation=generation, building_policy=policy_text)
    )


def activate(conn: Connection, generation: int, policy_text: str) -> None:
    conn.execute(
        update(projection_state)
        .where(projection_state.c.name == PROJECTION)
        .values(
            active_generation=generation,
            active_policy=policy_text,
            building_generation=None,
            building_policy=None,
        )
    )


_policies: dict[str, Policy] = {}


def policy_of(text: str) -> Policy:
    """Parsed policies, cached by their text (the live one is re-read every transaction)."""
    if text not in _policies:
        _policies[text] = load_policy_in_force(text)
    return _policies[text]
