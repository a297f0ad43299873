"""What a bench's server kept: message rows or events, read straight from its database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.keys.master_key import KEY_FILE_NAME
from adapters.keys.master_key_source import MasterKeySource
from projections.source import read_page


def stored_messages(url: str, app: str, workdir: Path) -> tuple[int, set[str]]:
    """(message rows/events, distinct message ids) read straight from the database; the
    ledger's keys are wrapped under the server's master key file in `workdir`."""
    parsed = DatabaseURL.parse(url)
    if app == "plain":
        if parsed.kind == "sqlite":
            with sqlite3.connect(str(parsed.path)) as conn:
                ids = [r[0] for r in conn.execute("SELECT message_id FROM messages")]
        else:
            with parsed.connect_postgres() as pg:
                pg.execute(f'SET search_path TO "{parsed.schema}"')
                ids = [str(r[0]) for r in pg.execute("SELECT message_id FROM messages")]
        return len(ids), set(ids)
    store = open_store(parsed, MasterKeySource(file=workdir / KEY_FILE_NAME))
    ids = []
    try:
        after = 0
        while True:
            events, last = read_page(store, after, 5000)
            if last == after:
                break
            ids += [str(e.data["message_id"]) for e in events if e.type == "InboundMessageReceived"]
            after = last
    finally:
        store.close()
    return len(ids), set(ids)
