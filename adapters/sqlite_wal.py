"""Empty a SQLite database's write-ahead log into its file, so no page as it was before a
change (a blanked lead, a re-wrapped secret) is left in the WAL."""

from __future__ import annotations

from sqlalchemy import Engine


def truncate_wal(engine: Engine) -> None:
    """Copy the WAL into the file and truncate it. No-op on other databases."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction (the engine's begins one)
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()
