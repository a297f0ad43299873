"""`leadledger import --jobs N` writes the ledger one process would, on SQLite and PostgreSQL.

The same files go through a single in-process `LegacyImport` and through `run_parallel` with
three workers, each into its own fresh store; the summaries, the rejects files and every
lead's events (type and content, in order) must agree. The rows include one lead written
in several spellings with a change between its rows, bad rows of every kind, notes of
rejected and unknown contacts, so shard ownership and ordering are both exercised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.legacy_import.mapping import DEFAULT_MAPPING
from adapters.legacy_import.readers import read_file
from adapters.legacy_import.report import Summary
from service_layer.bootstrap import Services, bootstrap
from service_layer.legacy_import import LegacyImport
from service_layer.parallel_import import ImportJob, run_parallel
from tests.conftest import _drop_schema, make_url, settings_for
from tests.support import WORKSPACE, phone_spellings

MS = 1_706_600_000_000
RECEIVED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
STATUSES = ("hot", "warm", "cold", "client", "lost")


def _rows() -> tuple[list[str], list[str]]:
    contacts: list[str] = []
    notes: list[str] = []
    for i in range(40):
        e164 = f"+62812{i:08d}"
        row: dict[str, Any] = {
            "_id": f"c{i}",
            "kapso_name": f"Lead {i}",
            "phone": phone_spellings(e164)[i % 5],
            "lead_status": STATUSES[i % 5],
            "lead_score": i,
            "created_at": MS + i,
        }
        if i % 13 == 5:
            row["phone"] = "not a phone"
        if i % 17 == 3:
            row["lead_status"] = "lukewarm"
        contacts.append(json.dumps(row))
        notes.append(json.dumps({"_id": f"n{i}", "contact_id": f"c{i}", "content": f"note {i}"}))
    # One lead in three spellings, its status changing between rows: order matters.
    budi = "+6285700000001"
    for j, (spelling, status) in enumerate(zip(phone_spellings(budi), STATUSES, strict=False)):
        contacts.append(json.dumps({"_id": f"budi{j}", "phone": spelling, "lead_status": status}))
        notes.append(json.dumps({"_id": f"b{j}", "contact_id": f"budi{j}", "content": f"b {j}"}))
    contacts += ['{"_id": "broken", "phone": "0812', ""]
    notes += [json.dumps({"_id": "orphan", "contact_id": "nobody", "content": "lost"}), "{]"]
    return contacts, notes


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    contacts, notes = _rows()
    (tmp_path / "contacts.jsonl").write_text("\n".join(contacts) + "\n", encoding="utf-8")
    (tmp_path / "notes.jsonl").write_text("\n".join(notes) + "\n", encoding="utf-8")
    return tmp_path / "contacts.jsonl", tmp_path / "notes.jsonl"


@pytest.fixture
def two_stores(durable_backend: str, tmp_path: Path) -> Iterator[tuple[Services, Services]]:
    made = [make_url(durable_backend, tmp_path / name) for name in ("one", "many")]
    built = [bootstrap(settings_for(url, tmp_path)) for url, _ in made]
    yield built[0], built[1]
    for services in built:
        services.close()
    for _, schema in made:
        if schema:
            _drop_schema(schema)


def test_parallel_import_writes_what_one_process_writes(
    two_stores: tuple[Services, Services], files: tuple[Path, Path], tmp_path: Path
) -> None:
    one, many = two_stores
    contacts, notes = files
    serial_rejects = tmp_path / "serial.rejects.jsonl"
    with serial_rejects.open("w", encoding="utf-8") as out:
        importer = LegacyImport(
            one.ledger, WORKSPACE, rejects_out=out, received_at=RECEIVED, chunk_contacts=7
        )
        serial = importer.run(read_file(contacts, "jsonl"), read_file(notes, "jsonl"))

    job = _job(many.settings.database_url, files, tmp_path / "parallel.rejects.jsonl")
    progress: list[tuple[str, int]] = []
    parallel = run_parallel(job, 3, lambda what, n: progress.append((what, n)))

    assert parallel.as_json() == serial.as_json()
    assert serial.rejected_total > 0
    assert serial.events_appended > 0
    assert _sorted_lines(job.rejects) == _sorted_lines(serial_rejects)
    assert not list(tmp_path.glob("parallel.rejects.jsonl.part*"))  # merged, then removed
    assert sum(n for what, n in progress if what == "contacts") == parallel.contacts_read
    assert sum(n for what, n in progress if what == "notes") == parallel.notes_read
    assert _ledger(many) == _ledger(one)
    # Re-running in parallel appends nothing.
    assert run_parallel(job, 3).events_appended == 0


def test_a_failing_worker_stops_the_import_with_its_reason(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    from service_layer.parallel_import import ImportWorkerError

    # A ledger that cannot be created: every worker fails as it opens the store.
    job = _job("sqlite:////proc/no-such-dir/ledger.db", files, tmp_path / "r.jsonl")
    with pytest.raises(ImportWorkerError, match="import worker"):
        run_parallel(job, 2)
    assert job.rejects.exists()
    assert not list(tmp_path.glob("r.jsonl.part*"))  # no part file left behind


def _job(database_url: str, files: tuple[Path, Path], rejects: Path) -> ImportJob:
    contacts, notes = files
    return ImportJob(
        database_url=database_url,
        workspace=WORKSPACE,
        region="ID",
        mapping=DEFAULT_MAPPING,
        contacts=contacts,
        contacts_format="jsonl",
        notes=notes,
        notes_format="jsonl",
        received_at=RECEIVED,
        rejects=rejects,
    )


def _sorted_lines(path: Path) -> list[str]:
    return sorted(path.read_text(encoding="utf-8").splitlines())


def _ledger(services: Services) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every lead's events in order: type and content, minus the time they were written."""
    recorder = services.store.recorder
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for notification in recorder.select_notifications(start=1, limit=10_000):
        event = services.store.mapper.to_domain_event(notification)
        state = {k: v for k, v in vars(event).items() if k not in ("timestamp", "originator_id")}
        found.setdefault(str(event.originator_id), []).append((type(event).__name__, state))
    return found


def test_summaries_add_up() -> None:
    a, b = Summary(contacts_read=2, events_appended=3), Summary(contacts_read=1)
    a.rejected["broken_json"] += 1
    b.rejected["broken_json"] += 2
    a.add(b)
    assert (a.contacts_read, a.events_appended, a.rejected["broken_json"]) == (3, 3, 3)
