"""Subscription signing secrets at rest: wrapped by the master key, like the lead keys
(envelope encryption, docs/security.md), so a copy of the views database signs nothing.

A secret is `whsec_` and 32 random bytes (adapters/outbound/signing.py); the 32 bytes are
wrapped (AES key wrap) under the current master key, and the row's `secret` column holds
`wrapped:<master key id>:<base64>`. A row from before (the plain `whsec_...`) still reads,
and every start wraps such rows (`wrap_stored`), as it wraps bare lead keys.
"""

from __future__ import annotations

import base64
import binascii
import logging

from sqlalchemy import Engine, select, update

from adapters.keys.key_backends import StoredKey
from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey, MasterKeyError
from adapters.outbound.signing import SECRET_PREFIX
from adapters.outbound.subscription_tables import subscriptions
from adapters.sqlite_wal import truncate_wal

log = logging.getLogger("leadledger.webhooks")
WRAPPED = "wrapped:"


class SecretUnavailableError(ValueError):
    """A stored secret this process cannot open (another master key wrapped it)."""


class SecretBox:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def seal(self, secret: str) -> str:
        """The stored form of `secret`, wrapped under the current master key."""
        return _sealed(self.keyring.current, _raw(secret))

    def open(self, stored: str) -> str:
        """The secret itself, from its stored form (wrapped, or plain from before)."""
        if not stored.startswith(WRAPPED):
            return stored
        try:
            raw = self.keyring.unwrap(_parsed(stored))
        except (MasterKeyError, ValueError, binascii.Error) as exc:
            raise SecretUnavailableError(f"the signing secret cannot be opened: {exc}") from None
        return SECRET_PREFIX + base64.b64encode(raw).decode("ascii")

    def rewrapped(self, stored: str, under: MasterKey) -> str | None:
        """`stored` wrapped under `under`, or None when it already is (or cannot be)."""
        if stored.startswith(WRAPPED) and _parsed(stored).kek == under.key_id:
            return None
        try:
            return _sealed(under, _raw(self.open(stored)))
        except (SecretUnavailableError, ValueError, binascii.Error) as exc:
            log.warning("a subscription's signing secret was left as it is: %s", exc)
            return None


def wrap_stored(
    engine: Engine, box: SecretBox, under: MasterKey | None = None, reader: Engine | None = None
) -> int:
    """Wrap every stored secret under `under` (default: the current master key): plain
    rows of an older version, and rows under an older key (a rotation), in one
    transaction; the number of rows changed. A plain read first (`reader`): the write
    lock only when something is to be changed."""
    target = under or box.keyring.current
    t = subscriptions
    with (reader or engine).connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.secret)).all()
    changes = {row.id: box.rewrapped(row.secret, target) for row in rows}
    changed = {sub_id: new for sub_id, new in changes.items() if new is not None}
    if not changed:
        return 0
    with engine.begin() as conn:
        for sub_id, new in changed.items():
            conn.execute(update(t).where(t.c.id == sub_id).values(secret=new))
    _purge_old_versions(engine)
    return len(changed)


def _purge_old_versions(engine: Engine) -> None:
    """No old value left behind: SQLite's WAL copied into the file (whose freed cells
    secure_delete zeroed) and truncated; PostgreSQL's dead row versions vacuumed (its WAL
    archives still hold them until they expire, as for the lead keys)."""
    if engine.dialect.name != "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM {subscriptions.name}")
        return
    truncate_wal(engine)


def _raw(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if len(raw) < 16 or len(raw) % 8:  # AES key wrap's shapes; ours are 32 bytes
        raise ValueError(f"a signing secret of {len(raw)} bytes cannot be wrapped")
    return raw


def _sealed(master: MasterKey, raw: bytes) -> str:
    blob = base64.b64encode(master.wrap(raw)).decode("ascii")
    return f"{WRAPPED}{master.key_id}:{blob}"


def _parsed(stored: str) -> StoredKey:
    kek, _, blob = stored.removeprefix(WRAPPED).partition(":")
    return StoredKey(kek, base64.b64decode(blob, validate=True))
