"""Webhook signatures: HMAC-SHA256 of the raw bytes, bare hex (Kapso) or sha256=<hex> (Meta)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.webhooks.signatures import matching_workspaces, sign

BODY = b'{"message": {"id": "wamid.1"}}'
SECRETS = [("acme", "acme-secret"), ("globex", "globex-secret")]


def test_sign_is_hmac_sha256_hex() -> None:
    # RFC-style known vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.mark.parametrize(
    "spell",
    [
        lambda d: d,
        lambda d: d.upper(),
        lambda d: "sha256=" + d,
        lambda d: "SHA256=" + d.upper(),
        lambda d: f"  sha256={d} ",
    ],
)
def test_accepted_spellings(spell: Callable[[str], str]) -> None:
    header = spell(sign("acme-secret", BODY))
    assert matching_workspaces(header, BODY, SECRETS) == {"acme"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + sign("acme-secret", BODY),
        sign("acme-secret", BODY)[:-1],
        sign("acme-secret", BODY) + "0",
        "zz" * 32,
        sign("wrong-secret", BODY),
        sign("acme-secret", BODY + b" "),
    ],
)
def test_refused_signatures(header: str | None) -> None:
    assert matching_workspaces(header, BODY, SECRETS) == set()


def test_the_raw_bytes_are_signed_not_the_json() -> None:
    same_json = b'{"message":{"id":"wamid.1"}}'
    assert matching_workspaces(sign("acme-secret", BODY), same_json, SECRETS) == set()


def test_each_workspace_matches_its_own_secret() -> None:
    assert matching_workspaces(sign("globex-secret", BODY), BODY, SECRETS) == {"globex"}


def test_a_shared_secret_matches_every_workspace_holding_it() -> None:
    shared = [("acme", "s"), ("globex", "s"), ("initech", "t")]
    assert matching_workspaces(sign("s", BODY), BODY, shared) == {"acme", "globex"}


def test_two_secrets_during_rotation_are_both_valid() -> None:
    rotating = [("acme", "old-secret"), ("acme", "new-secret")]
    assert matching_workspaces(sign("old-secret", BODY), BODY, rotating) == {"acme"}
    assert matching_workspaces(sign("new-secret", BODY), BODY, rotating) == {"acme"}
    assert matching_workspaces(sign("older-secret", BODY), BODY, rotating) == set()


def test_no_secrets_match_nothing() -> None:
    assert matching_workspaces(sign("acme-secret", BODY), BODY, []) == set()


def test_empty_body_can_be_signed() -> None:
    assert matching_workspaces(sign("acme-secret", b""), b"", SECRETS) == {"acme"}
