"""Reading export files row by row, with the line number each row starts on.

JSONL: one JSON object per line; blank lines are skipped. CSV: a header row naming the same
fields; empty cells are missing values; `metadata` is a JSON string. A row that cannot be
read comes back with `error` set (and no data), so the caller can reject it and go on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from domain.json_numbers import NumberOutOfRangeError, strict_loads

Format = Literal["jsonl", "csv"]


@dataclass(frozen=True)
class RawRow:
    file: str
    line: int
    raw: str
    data: dict[str, Any] | None = None
    error: str | None = None


def format_of(path: Path, given: str | None = None) -> Format:
    if given in ("jsonl", "csv"):
        return given  # type: ignore[return-value]
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


Wanted = Callable[[int], bool]  # by the line a row starts on: skip the others unparsed


def read_rows(
    name: str, lines: Iterable[bytes], fmt: Format, wanted: Wanted | None = None
) -> Iterator[RawRow]:
    rows = _csv_rows(name, lines) if fmt == "csv" else _jsonl_rows(name, lines, wanted)
    if fmt == "csv" and wanted is not None:  # a CSV row may span lines: parse, then pick
        return (row for row in rows if wanted(row.line))
    return rows


def read_file(path: Path, fmt: Format, wanted: Wanted | None = None) -> Iterator[RawRow]:
    with path.open("rb") as handle:
        yield from read_rows(path.name, handle, fmt, wanted)


def _jsonl_rows(name: str, lines: Iterable[bytes], wanted: Wanted | None) -> Iterator[RawRow]:
    for number, raw_bytes in enumerate(lines, start=1):
        if wanted is not None and not wanted(number):
            continue
        try:
            text = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raw = raw_bytes.decode("utf-8", "replace").rstrip("\r\n")
            yield RawRow(name, number, raw, error="the line is not UTF-8")
            continue
        raw = text.rstrip("\r\n").removeprefix("\ufeff") if number == 1 else text.rstrip("\r\n")
        if not raw.strip():
            continue
        try:
            value = _loads(raw)
        except NumberOutOfRangeError as exc:
            yield RawRow(name, number, raw, error=str(exc))
            continue
        except (json.JSONDecodeError, RecursionError) as exc:
            yield RawRow(name, number, raw, error=f"broken JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield RawRow(name, number, raw, error="broken JSON: a JSON object is expected")
            continue
        yield RawRow(name, number, raw, data=value)


def _loads(raw: str) -> Any:
    """orjson first (a third of the time); anything it refuses (broken JSON, integers past
    64 bits, lone surrogates, 1e400) is read again by the stdlib, whose answer or error
    stands (it refuses NaN and numbers a double cannot hold too)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return strict_loads(raw)


def _csv_rows(name: str, lines: Iterable[bytes]) -> Iterator[RawRow]:
    undecodable: set[int] = set()

    def text_lines() -> Iterator[str]:
        for number, raw_bytes in enumerate(lines, start=1):
            try:
                text = raw_bytes.decode("utf-8")
            except UnicodeDecodeError:
                undecodable.add(number)
                text = raw_bytes.decode("utf-8", "replace")
            yield text.removeprefix("\ufeff") if number == 1 else text

    reader = csv.reader(text_lines())
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(name, start, "", error=f"broken CSV: {exc}")
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if not any(cell.strip() for cell in cells):
            continue
        raw = _csv_line(cells)
        if undecodable.intersection(range(start, reader.line_num + 1)):
            yield RawRow(name, start, raw, error="broken CSV: the row is not UTF-8")
            continue
        data = {
            key: (cell if cell.strip() else None) for key, cell in zip(header, cells, strict=False)
        }
        yield RawRow(name, start, raw, data=data)


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
