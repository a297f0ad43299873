"""Which generation of view tables is live, and under which policy (one row per projection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from domain.policy import Policy, load_policy_in_force
from projections.rows import mark, stored_now
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
    writers already hold the database lock): catch-ups and swaps serialise on it.

    Straight through the driver, as `read_state`: every view transaction runs both (one
    per append with the inline views), and SQLAlchemy's statement building cost more
    than the statements."""
    m = mark(conn)
    conn.exec_driver_sql(
        f"UPDATE {projection_state.name} SET touched_at = {m} WHERE name = {m}",  # noqa: S608
        (stored_now(conn), PROJECTION),
    )
    return read_state(conn)


def read_state(conn: Connection) -> ProjectionState:
    m = mark(conn)
    row = conn.exec_driver_sql(
        "SELECT active_generation, active_policy, building_generation, building_policy "  # noqa: S608
        f"FROM {projection_state.name} WHERE name = {m}",
        (PROJECTION,),
    ).one()
    return ProjectionState(int(row[0]), row[1], row[2], row[3])


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
