"""PostgreSQL backups with the server's own tools: `pg_dump` reads every table (ledger,
keys, views) in one snapshot; `pg_restore` loads it in one transaction."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from adapters.backup.manifest import BackupError
from adapters.eventstore.database_url import DatabaseURL

DUMP = "ledger.pgdump"


def schema_of(url: DatabaseURL) -> str:
    return url.schema or "public"


def dump(url: DatabaseURL, target: Path) -> None:
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--schema={schema_of(url)}",
            f"--file={target}",
            url.dbname,
        ],
        url,
    )
    os.chmod(target, 0o600)


def restore(url: DatabaseURL, source: Path) -> None:
    """Load a dump into `url`'s database, whose schema must hold no table yet (a failed
    load rolls back whole: --single-transaction)."""
    existing = _tables_in(url)
    if existing:
        raise BackupError(
            f"schema {schema_of(url)!r} of database {url.dbname!r} already has "
            f"{len(existing)} table(s) ({', '.join(existing[:3])}…): restore into a new "
            "database or schema"
        )
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            f"--dbname={url.dbname}",
            str(source),
        ],
        url,
    )


def _tables_in(url: DatabaseURL) -> list[str]:
    with url.connect_postgres() as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (schema_of(url),),
        ).fetchall()
    return [str(row[0]) for row in rows]


def _run(command: list[str], url: DatabaseURL) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client tools "
            "(e.g. apt-get install postgresql-client) of the server's major version or newer"
        )
    env = os.environ | {"PGHOST": url.host, "PGPORT": str(url.port), "PGUSER": url.user}
    if url.password:
        env["PGPASSWORD"] = url.password  # never on the command line (ps shows it)
    # A fixed tool and its arguments as a list: no shell reads them.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")
