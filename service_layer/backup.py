"""Back up a data directory while the server runs, and restore a backup into a new place.

SQLite: each database file is copied live with SQLite's online backup API, in an order
that keeps the copies consistent with one another although they are taken one after the
other — the views first (so they are never ahead of the ledger copy), then the ledger,
then the keys (a lead's key is stored before its first event, and keys are only ever added
or destroyed, so every event in the ledger copy finds its key). The workspaces file and the
ledger's other files (`<ledger name>.*`) come along. PostgreSQL: one `pg_dump` snapshot of
the schema. See docs/operations.md "Backups" and docs/erasure.md for old backups.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adapters.backup import postgres_dump, sqlite_copy
from adapters.backup.manifest import BackedUpFile, BackupError, Manifest, sha256_of
from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from service_layer.bootstrap import bootstrap

__all__ = ["BackupError", "Restored", "back_up", "restore"]


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    ledger_head: int  # the restored ledger's last notification id
    erasures_reapplied: int  # erasures the restored ledger records, keys destroyed again


@dataclass(frozen=True)
class _Paths:
    """Where a configuration keeps its data (SQLite: files; PostgreSQL: ledger etc. None)."""

    database: DatabaseURL
    ledger: Path | None
    keys: Path | None
    views: Path | None
    config: Path

    @classmethod
    def of(cls, settings: Settings) -> _Paths:
        database = DatabaseURL.parse(settings.database_url)
        if database.kind == "memory":
            raise BackupError("memory:// keeps nothing on disk: there is nothing to back up")
        views_url = settings.views_database_url or database.sqlalchemy_url()
        views = Path(views_url.split(":///", 1)[1]) if views_url.startswith("sqlite") else None
        ledger = database.path
        # The keys file's name, as adapters/keys/key_backends.py derives it.
        keys = None if ledger is None else ledger.with_suffix(".keys.db")
        return cls(database, ledger, keys, views, settings.config_file)


def back_up(settings: Settings, target: Path) -> Manifest:
    """Write a complete backup to `target` (a new or empty directory), or nothing."""
    paths = _Paths.of(settings)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory")
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    partial.mkdir(mode=0o700, parents=True)
    try:
        files = _copy_sqlite(paths, partial) if paths.ledger else _dump_postgres(paths, partial)
        if paths.config.is_file():
            files.append(_copied(paths.config, partial, "config", sqlite_copy.copy_file))
        name = paths.ledger.name if paths.ledger else postgres_dump.schema_of(paths.database)
        Manifest(paths.database.kind, datetime.now(UTC), name, files).write(partial)
        if target.exists():
            target.rmdir()
        partial.rename(target)  # only a complete backup ever carries the target's name
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Manifest.read(target)


def restore(settings: Settings, source: Path) -> Restored:
    """Put the backup where `settings` keep their data — which must hold none yet — then
    destroy again the key of every lead the restored ledger records as erased."""
    manifest = Manifest.read(source)
    paths = _Paths.of(settings)
    if manifest.database != paths.database.kind:
        raise BackupError(
            f"{source} is a {manifest.database} backup; the configured database is "
            f"{paths.database.kind}"
        )
    plan = _restore_plan(manifest, paths, source)
    if paths.ledger is None:
        schema = postgres_dump.schema_of(paths.database)
        if schema != manifest.ledger_name:
            raise BackupError(
                f"the backup holds schema {manifest.ledger_name!r}: restore it with "
                f"?schema={manifest.ledger_name} in LEADLEDGER_DATABASE_URL (not {schema!r})"
            )
        postgres_dump.restore(paths.database, source / postgres_dump.DUMP)
    _put_in_place(plan)
    services = bootstrap(settings)
    try:
        reapplied = services.service.reapply_erasures()
        services.service.catch_up_views()
        return Restored(manifest, services.service.ledger_head(), reapplied)
    finally:
        services.close()


def _copy_sqlite(paths: _Paths, into: Path) -> list[BackedUpFile]:
    assert paths.ledger is not None
    assert paths.keys is not None
    if not paths.ledger.is_file():
        raise BackupError(f"no ledger at {paths.ledger}: check LEADLEDGER_DATABASE_URL")
    live = [(paths.views, "views"), (paths.ledger, "ledger"), (paths.keys, "keys")]
    files = [
        _copied(path, into, role, sqlite_copy.copy_live)
        for path, role in live
        if path is not None and path.is_file()  # no views file yet: a rebuild makes one
    ]
    done = {path.resolve() for path, _ in live if path is not None} | {paths.config.resolve()}
    for other in sorted(paths.ledger.parent.glob(f"{paths.ledger.stem}.*")):
        if other.is_file() and other.resolve() not in done and not sqlite_copy.is_sidecar(other):
            # Another database of ours (e.g. a newer release's) is copied live too.
            copy = sqlite_copy.copy_live if sqlite_copy.is_sqlite(other) else sqlite_copy.copy_file
            files.append(_copied(other, into, "file", copy))
    return files


def _dump_postgres(paths: _Paths, into: Path) -> list[BackedUpFile]:
    postgres_dump.dump(paths.database, into / postgres_dump.DUMP)
    dumped = into / postgres_dump.DUMP
    return [BackedUpFile(dumped.name, "pg_dump", sha256_of(dumped))]


def _copied(
    source: Path, into: Path, role: str, copy: Callable[[Path, Path], None]
) -> BackedUpFile:
    target = into / source.name
    copy(source, target)
    return BackedUpFile(target.name, role, sha256_of(target))


def _restore_plan(manifest: Manifest, paths: _Paths, source: Path) -> list[tuple[Path, Path]]:
    """(backup file, where it goes) for every file; refused when any target exists (a
    workspaces file with the very same content excepted: e.g. one managed in /etc)."""
    plan: list[tuple[Path, Path]] = []
    for item in manifest.files:
        target = _target(item, manifest, paths)
        if target is None:
            continue
        copy = source / item.name
        if target.exists():
            if item.role == "config" and sha256_of(target) == item.sha256:
                continue
            raise BackupError(f"{target} exists: restore into a new data directory")
        plan.append((copy, target))
    return plan


def _put_in_place(plan: list[tuple[Path, Path]]) -> None:
    """Copy every file, or (on a failure half-way) take back the ones already placed."""
    placed: list[Path] = []
    try:
        for copy, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restoring")
            sqlite_copy.copy_file(copy, partial)
            partial.rename(target)
            placed.append(target)
    except BaseException:
        for target in placed:
            target.unlink(missing_ok=True)
        raise


def _target(item: BackedUpFile, manifest: Manifest, paths: _Paths) -> Path | None:
    by_role = {"ledger": paths.ledger, "keys": paths.keys, "views": paths.views}
    if item.role in by_role:
        return by_role[item.role]
    if item.role == "config":
        return paths.config
    if item.role == "file" and paths.ledger is not None:
        # `<old ledger name>.rest` follows the ledger to its new name.
        old_stem = Path(manifest.ledger_name).stem
        rest = item.name.removeprefix(old_stem)
        return paths.ledger.parent / f"{paths.ledger.stem}{rest}"
    return None  # the PostgreSQL dump: loaded by pg_restore
