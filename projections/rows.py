"""View rows straight through the database driver: bulk upserts and loads without
SQLAlchemy's per-value type processing (a rebuild writes about one row per event).

Values are stored exactly as the SQLAlchemy column types store them (tables.py), so rows
written here and rows written or read through SQLAlchemy are interchangeable:
UTCDateTime -> naive UTC text `YYYY-MM-DD HH:MM:SS.ffffff` on SQLite, an aware timestamp on
PostgreSQL; JSON -> `json.dumps` text (None as JSON null); Boolean -> 0/1 on SQLite.
PostgreSQL text cannot hold NUL: a source that sent one keeps it in the ledger, the view
shows U+FFFD instead (on every backend, so views stay comparable).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Table

from adapters.utc_datetime import UTCDateTime

Codec = Callable[[Any], Any]
IN_CHUNK = 500  # bound parameters per IN list
PAIR_CHUNK = 400  # pairs per VALUES list (two parameters each: within SQLite's old 999)


def storable(value: Any) -> Any:
    """NUL replaced by U+FFFD in text, also inside lists and maps (see module doc)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def _text(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if value.__class__ is str and "\x00" in value else value


def _json(value: Any) -> str:
    # JSON escapes a NUL as \u0000 wherever it is (keys too): walk the value to replace it
    # only then (a rebuild encodes millions of values, almost none with a NUL).
    if value is None:
        return "null"  # most JSON cells, without a call
    text = _dumps(value)
    return _dumps(storable(value)) if "\\u0000" in text else text


def _dumps(value: Any) -> str:
    try:
        # orjson: a fifth of the stdlib's time. Compact UTF-8 rather than spaced, ASCII-
        # escaped text: the same JSON values (JSON columns are only ever read decoded).
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        # What orjson refuses (an int past 64 bits, a key that is not text): the stdlib
        # writes it or raises as it always did.
        return json.dumps(value)


def _json_in(value: Any) -> Any:
    # The stdlib, not orjson: orjson reads an integer past 64 bits as a float.
    return None if value is None else json.loads(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is UTC:  # most: one call instead of three
        return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _sqlite_time_in(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bool_in(value: Any) -> Any:
    return None if value is None else bool(value)


def _bool_out(value: Any) -> Any:
    return None if value is None else int(value)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class TableRows:
    """One table's columns, their codecs for one backend, and its SQL."""

    table: Table
    names: tuple[str, ...]
    encoders: tuple[Codec, ...]
    decoders: tuple[Codec | None, ...]
    insert_sql: str
    upsert_sql: str
    select_sql: str  # ends in "WHERE " for the caller's condition
    indexed: frozenset[str]  # columns an index reads, the primary key's left out
    _keys: tuple[str, ...]
    _kept_sql: dict[frozenset[str], str] = field(default_factory=dict, compare=False)

    def encode(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple([enc(values[n]) for n, enc in zip(self.names, self.encoders, strict=True)])

    def decode(self, row: Sequence[Any]) -> dict[str, Any]:
        return {
            n: v if dec is None else dec(v)
            for n, dec, v in zip(self.names, self.decoders, row, strict=True)
        }

    def insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            conn.exec_driver_sql(self.insert_sql, rows)

    def upsert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            conn.exec_driver_sql(self.upsert_sql, rows)

    def upsert_keeping(
        self, conn: Connection, rows: Sequence[tuple[tuple[Any, ...], frozenset[str]]]
    ) -> None:
        """Upsert `rows`, each with the indexed columns its stored row already holds
        (`indexed`, less those that changed; empty for a new row), which are left out of the
        UPDATE's SET list. SQLite rewrites the entry of every index whose column is SET,
        even to the value it had, so a contact row written with all its columns paid for 8
        indexes where a new message changes the columns of 2. Rows are grouped by what they
        keep, one statement a group. PostgreSQL compares the values itself (a HOT update
        when no indexed value changed), so there it is one statement with them all."""
        if conn.dialect.name != "sqlite":
            self.upsert(conn, [row for row, _ in rows])
            return
        groups: dict[frozenset[str], list[tuple[Any, ...]]] = defaultdict(list)
        for row, kept in rows:
            groups[kept].append(row)
        for kept, group in groups.items():
            conn.exec_driver_sql(self._upsert_keeping(kept), group)

    def _upsert_keeping(self, kept: frozenset[str]) -> str:
        sql = self._kept_sql.get(kept)
        if sql is None:
            sql = self._kept_sql[kept] = _upsert(self.insert_sql, self.names, self._keys, kept)
        return sql

    def select_in(
        self, conn: Connection, column: str, keys: Sequence[Any], extra: str = ""
    ) -> Iterable[dict[str, Any]]:
        """Rows whose `column` is one of `keys` (chunked), decoded."""
        mark = _mark(conn.dialect.name)
        for i in range(0, len(keys), IN_CHUNK):
            chunk = keys[i : i + IN_CHUNK]
            sql = f'{self.select_sql}"{column}" IN ({", ".join([mark] * len(chunk))}){extra}'
            for row in conn.exec_driver_sql(sql, tuple(chunk)):
                yield self.decode(row)

    def select_pairs(
        self, conn: Connection, first: str, second: str, pairs: Sequence[tuple[Any, Any]]
    ) -> Iterable[dict[str, Any]]:
        """The rows whose (`first`, `second`) is one of `pairs`, decoded: one index probe a
        pair (a join with the pairs as a VALUES list; `first IN (..) AND second IN (..)`
        would probe every combination of the two lists), PAIR_CHUNK pairs a query."""
        mark = _mark(conn.dialect.name)
        columns = ", ".join(f't."{n}"' for n in self.names)
        for i in range(0, len(pairs), PAIR_CHUNK):
            chunk = pairs[i : i + PAIR_CHUNK]
            values = ", ".join([f"({mark}, {mark})"] * len(chunk))
            sql = (
                f"WITH wanted (k1, k2) AS (VALUES {values}) "  # noqa: S608 - our own names
                f'SELECT {columns} FROM wanted JOIN "{self.table.name}" t '
                f'ON t."{first}" = wanted.k1 AND t."{second}" = wanted.k2'
            )
            for row in conn.exec_driver_sql(sql, tuple(v for pair in chunk for v in pair)):
                yield self.decode(row)


def rows_of(conn: Connection, table: Table) -> TableRows:
    return _rows(conn.dialect.name, table)


def _mark(dialect: str) -> str:
    return "?" if dialect == "sqlite" else "%s"


def mark(conn: Connection) -> str:
    """The driver's placeholder, for SQL run straight through it."""
    return _mark(conn.dialect.name)


def stored_now(conn: Connection) -> Any:
    """The current time as a UTCDateTime column stores it on this backend."""
    now = datetime.now(UTC)
    return _sqlite_time(now) if conn.dialect.name == "sqlite" else now


@lru_cache(maxsize=64)
def _rows(dialect: str, table: Table) -> TableRows:
    sqlite = dialect == "sqlite"
    names = tuple(c.name for c in table.columns)
    encoders: list[Codec] = []
    decoders: list[Codec | None] = []
    marks: list[str] = []
    for column in table.columns:
        mark = _mark(dialect)
        if isinstance(column.type, UTCDateTime):
            encoders.append(_sqlite_time if sqlite else _utc)
            decoders.append(_sqlite_time_in if sqlite else _utc)
        elif isinstance(column.type, JSON):
            encoders.append(_json)
            decoders.append(_json_in if sqlite else None)
            mark = mark if sqlite else f"CAST({mark} AS JSON)"
        elif isinstance(column.type, Boolean):
            encoders.append(_bool_out if sqlite else _same)
            decoders.append(_bool_in if sqlite else None)
        else:
            encoders.append(_text)
            decoders.append(None)
        marks.append(mark)
    quoted = ", ".join(f'"{n}"' for n in names)
    keys = [c.name for c in table.primary_key.columns]
    # Identifiers come from our own table metadata, values are always bound parameters.
    insert = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(marks)})'  # noqa: S608
    return TableRows(
        table=table,
        names=names,
        encoders=tuple(encoders),
        decoders=tuple(decoders),
        insert_sql=insert,
        upsert_sql=_upsert(insert, names, tuple(keys)),
        select_sql=f'SELECT {quoted} FROM "{table.name}" WHERE ',  # noqa: S608
        indexed=frozenset(c.name for ix in table.indexes for c in ix.columns) - set(keys),
        _keys=tuple(keys),
    )


def _upsert(
    insert: str, names: tuple[str, ...], keys: tuple[str, ...], kept: frozenset[str] = frozenset()
) -> str:
    """`insert` that, on a key already stored, sets every other column but `kept`."""
    left = [n for n in names if n not in keys and n not in kept]
    conflict = ", ".join(f'"{k}"' for k in keys)
    updates = ", ".join(f'"{n}" = excluded."{n}"' for n in left)
    return f"{insert} ON CONFLICT ({conflict}) " + (
        f"DO UPDATE SET {updates}" if left else "DO NOTHING"
    )
