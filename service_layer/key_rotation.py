"""Rotating the master key that wraps every lead key (`leadledger keys rotate-master`).

Only the wrapped lead keys change, in one transaction: events, snapshots and the views
are untouched, and every lead decrypts as before. Run it with the other leadledger
processes stopped (docs/security.md): one still holding the old key may create a lead key
under it meanwhile.
"""

from __future__ import annotations

from adapters.config.settings import Settings
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.startup_lock import startup_lock
from adapters.eventstore.store import LedgerStore
from adapters.keys.master_key import MasterKey, MasterKeyError
from adapters.keys.master_key_source import MasterKeySource, Rotation, rotate_master_key

__all__ = ["MasterKeyError", "Rotation", "rotate"]


def rotate(settings: Settings, database: DatabaseURL, store: LedgerStore) -> Rotation:
    """Re-wrap every lead key under a new master key: LEADLEDGER_NEW_MASTER_KEY when set,
    else (key file only) a fresh one written to the key file."""
    source = MasterKeySource.for_settings(settings, database)
    given = settings.new_master_key
    new = None
    if given is not None:
        new = MasterKey.parse(given.get_secret_value(), "LEADLEDGER_NEW_MASTER_KEY")
    with startup_lock(database):  # not while another process starts and wraps keys
        return rotate_master_key(store.keys, source, new)
