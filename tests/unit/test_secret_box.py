"""Signing secrets wrapped by the master key: what is stored reveals nothing, opens to the
secret under the key that wrapped it (or any key the keyring holds), and a plain secret of
an older version still opens."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keys.keyring import Keyring
from adapters.keys.master_key import MasterKey
from adapters.outbound.secret_box import SecretBox, SecretUnavailableError
from adapters.outbound.signing import SECRET_PREFIX, new_secret

secrets_32 = st.binary(min_size=32, max_size=32).map(
    lambda raw: SECRET_PREFIX + base64.b64encode(raw).decode()
)


@given(secrets_32)
def test_a_sealed_secret_opens_to_itself_and_shows_nothing_of_it(secret: str) -> None:
    box = SecretBox(Keyring(MasterKey.generate()))
    stored = box.seal(secret)
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    assert secret not in stored
    assert secret.removeprefix(SECRET_PREFIX) not in stored
    assert raw not in base64.b64decode(stored.rsplit(":", 1)[1])
    assert box.open(stored) == secret


def test_a_plain_secret_from_before_opens_as_itself_and_is_rewrapped() -> None:
    key = MasterKey.generate()
    box = SecretBox(Keyring(key))
    plain = new_secret()
    assert box.open(plain) == plain
    wrapped = box.rewrapped(plain, key)
    assert wrapped is not None
    assert plain not in wrapped
    assert box.open(wrapped) == plain
    assert box.rewrapped(wrapped, key) is None  # already under that key: left alone


def test_a_rotation_rewraps_under_the_new_key_and_the_old_key_is_then_not_needed() -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    ring = Keyring(old)
    secret = new_secret()
    stored = SecretBox(ring).seal(secret)
    ring.add(new)
    moved = SecretBox(ring).rewrapped(stored, new)
    assert moved is not None
    assert moved != stored
    assert SecretBox(Keyring(new)).open(moved) == secret


def test_another_master_key_cannot_open_a_secret() -> None:
    stored = SecretBox(Keyring(MasterKey.generate())).seal(new_secret())
    with pytest.raises(SecretUnavailableError, match="cannot be opened"):
        SecretBox(Keyring(MasterKey.generate())).open(stored)


@pytest.mark.parametrize("bad", ["whsec_", "not-a-secret", SECRET_PREFIX + "AAAA"])
def test_a_secret_of_a_shape_that_cannot_be_wrapped_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"starts with whsec_|cannot be wrapped"):
        SecretBox(Keyring(MasterKey.generate())).seal(bad)
