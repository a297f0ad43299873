"""A hostile signature header is refused (no workspace), never an exception: any text,
including lone surrogates that UTF-8 cannot encode."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.webhooks.signatures import matching_workspaces, sign

BODY = b'{"message": {"id": "wamid.1"}}'
SECRETS = [("acme", "acme-secret"), ("globex", "globex-secret")]
SIGNATURES = {sign(secret, BODY) for _, secret in SECRETS}

# Every code point, surrogates included (hypothesis leaves them out of text() by default).
any_text = st.text(st.characters(codec=None, exclude_categories=()))


def test_a_header_utf8_cannot_encode_matches_nothing() -> None:
    assert matching_workspaces("sha256=\udc80" + "0" * 63, BODY, SECRETS) == set()


@given(any_text)
def test_any_other_header_matches_nothing(header: str) -> None:
    spelled = header.strip().lower().removeprefix("sha256=")
    if spelled not in SIGNATURES:
        assert matching_workspaces(header, BODY, SECRETS) == set()
