"""The projection's position in the ledger, stored in the same transaction as the views.

The views may be split into partitions by lead-id hash, each with its own tracking row
(its position: every event of its leads up to there is applied), so several processes
share the projection work (docs/architecture.md, "Partitioned views"). Row id 1 is the
single, unpartitioned position (the default); partition k of n is row n * 1000 + k. The
tracking table holds one complete set of rows at a time, so the lowest position of all
rows is where every lead is applied up to: what readers of the views may rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, func, insert, select

from projections.rows import mark, stored_now
from projections.tables import ViewTables

MAX_PARTITIONS = 999
HASH_HEX_DIGITS = 7  # the lead id's low 28 bits: a plain int in SQL too (partition_read.py)


@dataclass(frozen=True)
class Partition:
    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_PARTITIONS or not 0 <= self.index < self.count:
            raise ValueError(f"no partition {self.index} of {self.count}")

    @property
    def row_id(self) -> int:
        return 1 if self.count == 1 else self.count * 1000 + self.index

    @classmethod
    def of_row(cls, row_id: int) -> Partition:
        return cls() if row_id == 1 else cls(row_id % 1000, row_id // 1000)

    def owns(self, lead_id: Any) -> bool:
        return self.count == 1 or partition_of(lead_id, self.count) == self.index


WHOLE = Partition()


def partitions(count: int) -> list[Partition]:
    return [Partition(k, count) for k in range(count)]


def partition_of(lead_id: Any, count: int) -> int:
    """Stable across processes and runs (not Python's salted `hash`): the lead id's low
    28 bits, random in v4 and v5 UUIDs alike, modulo `count`."""
    value = lead_id.int if isinstance(lead_id, UUID) else UUID(str(lead_id)).int
    return int(value & (16**HASH_HEX_DIGITS - 1)) % count


def position(conn: Connection, tables: ViewTables, partition: Partition = WHOLE) -> int:
    t = tables.tracking
    value = conn.execute(select(t.c.position).where(t.c.id == partition.row_id)).scalar()
    return int(value or 0)


def settled(conn: Connection, tables: ViewTables) -> int:
    """Where every lead's events are applied up to: the lowest position of all rows."""
    value = conn.execute(select(func.min(tables.tracking.c.position))).scalar()
    return int(value or 0)


def positions(conn: Connection, tables: ViewTables) -> tuple[int, ...]:
    """Every row's position, in row order: changes whenever any partition moves (a key
    for what was computed from the views)."""
    t = tables.tracking
    return tuple(int(p) for p in conn.execute(select(t.c.position).order_by(t.c.id)).scalars())


def rows(conn: Connection, tables: ViewTables) -> dict[Partition, int]:
    t = tables.tracking
    return {Partition.of_row(int(i)): int(p) for i, p in conn.execute(select(t.c.id, t.c.position))}


def claim(conn: Connection, tables: ViewTables, partition: Partition) -> int | None:
    """Lock the partition's row for this transaction and return its position; None when
    another process holds it (PostgreSQL: SKIP LOCKED, so nobody idles on it) or when the
    table holds another partitioning (see `repartition`). SQLite's writers already hold
    the database lock."""
    t = tables.tracking
    query = select(t.c.position).where(t.c.id == partition.row_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


def lock_all(conn: Connection, tables: ViewTables) -> dict[Partition, int]:
    """Every partition's row, locked for this transaction (waiting for holders), and its
    position: for a writer that applies events of any lead in its own transaction (views
    written with the append) and then moves every row, with `advance`, from the position
    they all share to its last event. Rows at different positions: leave it to catch-up.

    This and `advance` go straight through the driver: the inline views run them in
    every append's view transaction (see projections/state.py's lock_state)."""
    lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
    found = conn.exec_driver_sql(
        # One lock order: no deadlock.
        f'SELECT id, position FROM "{tables.tracking.name}" ORDER BY id{lock}'  # noqa: S608
    )
    return {Partition.of_row(int(i)): int(p) for i, p in found}


def advance(conn: Connection, tables: ViewTables, to: int, partition: Partition = WHOLE) -> None:
    """Move forward only: a replayed page never moves the position back."""
    name, m, row_id = tables.tracking.name, mark(conn), partition.row_id
    moved = conn.exec_driver_sql(
        f'UPDATE "{name}" SET position = {m}, updated_at = {m} '  # noqa: S608 - our table
        f"WHERE id = {m} AND position < {m}",
        (to, stored_now(conn), row_id, to),
    )
    if (
        moved.rowcount == 0
        and not conn.exec_driver_sql(
            f'SELECT id FROM "{name}" WHERE id = {m}',  # noqa: S608 - our table
            (row_id,),
        ).first()
    ):
        conn.execute(
            insert(tables.tracking).values(id=row_id, position=to, updated_at=datetime.now(UTC))
        )


def replace_rows(conn: Connection, tables: ViewTables, count: int, at: int) -> None:
    """Start `count` partitions, all at `at` (the caller made every lead applied up to it)."""
    conn.execute(delete(tables.tracking))
    now = datetime.now(UTC)
    conn.execute(
        insert(tables.tracking),
        [{"id": p.row_id, "position": at, "updated_at": now} for p in partitions(count)],
    )
