"""Webhook signing secrets at rest: the views database (the SQLite file, or the PostgreSQL
table) holds them only wrapped by the master key; a plain one of an older version still
signs and is wrapped by the next start; a master key rotation re-wraps them."""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import select, update

from adapters.outbound.secret_box import SecretBox
from adapters.outbound.signing import SECRET_PREFIX, new_secret
from adapters.outbound.subscription_tables import subscriptions
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import WORKSPACE

RECEIVER = "https://93.184.216.34/hook"  # public: no allow-list, no DNS


def stored_secrets(services: Services) -> dict[str, str]:
    with services.engines.write.connect() as conn:
        rows = conn.execute(select(subscriptions.c.id, subscriptions.c.secret))
        return {row.id: row.secret for row in rows}


def views_dump(services: Services) -> bytes:
    """What a copy of the views database holds: its SQLite files, or the table's rows."""
    engine = services.engines.write
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    with engine.connect() as conn:
        rows = conn.execute(select(subscriptions)).all()
    return "\n".join(repr(tuple(row)) for row in rows).encode()


def forms(secret: str) -> list[bytes]:
    """The secret as text, its base64 part, and its raw bytes."""
    body = secret.removeprefix(SECRET_PREFIX)
    return [secret.encode(), body.encode(), base64.b64decode(body)]


def opened(services: Services, stored: str) -> str:
    return SecretBox(services.store.keys.keyring).open(stored)


def test_the_views_database_holds_no_plain_signing_secret(
    durable_database_url: str, tmp_path: Path
) -> None:
    services = bootstrap(settings_for(durable_database_url, tmp_path))
    try:
        made = services.service.subscriptions.create(WORKSPACE, RECEIVER, [], None, None)
        services.service.subscriptions.create(WORKSPACE, RECEIVER, ["note.added"], None, None)
        stored = stored_secrets(services)[made.subscription.id]
        assert stored != made.secret
        assert opened(services, stored) == made.secret
        dump = views_dump(services)
        assert made.subscription.id.encode() in dump  # the dump does hold the row
        for form in forms(made.secret):
            assert form not in dump
    finally:
        services.close()


def test_a_plain_secret_of_an_older_version_still_works_and_is_wrapped_on_start(
    durable_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(durable_database_url, tmp_path)
    services = bootstrap(settings)
    plain = new_secret()
    try:
        sub = services.service.subscriptions.create(WORKSPACE, RECEIVER, [], None, None)
        sub_id = sub.subscription.id
        with services.engines.write.begin() as conn:  # as an older version stored it
            conn.execute(
                update(subscriptions).where(subscriptions.c.id == sub_id).values(secret=plain)
            )
        assert opened(services, stored_secrets(services)[sub_id]) == plain  # read both
    finally:
        services.close()
    again = bootstrap(settings)
    try:
        stored = stored_secrets(again)[sub_id]
        assert stored != plain
        assert opened(again, stored) == plain
        for form in forms(plain):
            assert form not in views_dump(again)
    finally:
        again.close()


def test_a_master_key_rotation_rewraps_the_signing_secrets(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path}/ledger.db", tmp_path)
    services = bootstrap(settings)
    try:
        made = services.service.subscriptions.create(WORKSPACE, RECEIVER, [], None, None)
        before = stored_secrets(services)[made.subscription.id]
        rotation = services.service.rotate_master_key()
        after = stored_secrets(services)[made.subscription.id]
        assert rotation.old_key_id in before
        assert rotation.new_key_id in after
    finally:
        services.close()
    again = bootstrap(settings)  # with the new key file only: the old key is gone
    try:
        assert opened(again, stored_secrets(again)[made.subscription.id]) == made.secret
    finally:
        again.close()
