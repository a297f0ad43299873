"""Before anything is created or printed: is the database there, and (for commands that
only use a ledger) is there a ledger in it? Each answer names where it looked."""

from __future__ import annotations

import re

import psycopg

from adapters.config.errors import ConfigError
from adapters.eventstore.database_url import DatabaseURL

# eventsourcing names the table after the application ("leadledger") and its purpose.
EVENTS_TABLE = "leadledger_events"
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')


def check_database(url: DatabaseURL, ledger_must_exist: bool) -> None:
    if url.kind == "sqlite":
        assert url.path is not None
        if ledger_must_exist and not url.path.is_file():
            raise ConfigError(
                f"no ledger at {url.path.resolve()}: run from the directory holding data/, "
                "set LEADLEDGER_DATA_DIR, LEADLEDGER_DATABASE_URL or --config; "
                "`leadledger serve` creates a new ledger"
            )
    elif url.kind == "postgres":
        _check_postgres(url, ledger_must_exist)


def _check_postgres(url: DatabaseURL, ledger_must_exist: bool) -> None:
    where = f"{url.host}:{url.port}"
    try:
        conn = url.connect_postgres()
    except psycopg.OperationalError as exc:
        if _MISSING_DATABASE.search(str(exc)):
            # Not created for you: the application's user rarely may, and a mistyped name
            # would otherwise become a new, empty ledger.
            raise ConfigError(
                f'PostgreSQL database "{url.dbname}" does not exist on {where}; create it '
                f"first: createdb -h {url.host} -p {url.port} -U {url.user} {url.dbname}"
            ) from None
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"cannot connect to PostgreSQL at {where} as {url.user}: {reason}"
        ) from None
    with conn:
        if not ledger_must_exist:
            return
        table = f'"{url.schema}".{EVENTS_TABLE}' if url.schema else EVENTS_TABLE
        found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    if found is None or found[0] is None:
        raise ConfigError(
            f'no ledger in PostgreSQL database "{url.dbname}" on {where}'
            + (f" (schema {url.schema})" if url.schema else "")
            + f": table {EVENTS_TABLE} does not exist; check LEADLEDGER_DATABASE_URL, "
            "or start `leadledger serve` once to create it"
        )
