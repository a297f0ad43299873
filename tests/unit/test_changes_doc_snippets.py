"""docs/changes.md's Python verification snippet, run as written: it accepts what the
dispatcher signs (adapters/outbound/signing.py) and refuses a changed body, another
secret, and a stale timestamp."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.outbound.signing import new_secret, signed_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "changes.md"
Receive = Callable[[bytes, dict[str, str], str], dict[str, Any]]


def python_snippet() -> Receive:
    text = DOC.read_text(encoding="utf-8").split("Verify in Python", 1)[1]
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found, "docs/changes.md lost its Python verification snippet"
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)  # noqa: S102 - the docs' own snippet, as a reader runs it
    receive: Receive = namespace["receive"]
    return receive


BODY = json.dumps({"type": "note.added", "timestamp": "t", "data": {"id": "7.0"}})


def test_the_snippet_accepts_what_leadledger_signs() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "7.0", datetime.now(UTC), BODY)
    assert python_snippet()(BODY.encode(), headers, secret) == json.loads(BODY)


@pytest.mark.parametrize(
    ("body", "other_secret", "age"),
    [
        (BODY.replace("7.0", "8.0"), False, timedelta(0)),
        (BODY, True, timedelta(0)),
        (BODY, False, timedelta(hours=1)),
    ],
)
def test_the_snippet_refuses_a_forgery(body: str, other_secret: bool, age: timedelta) -> None:
    secret = new_secret()
    headers = signed_headers(secret, "7.0", datetime.now(UTC) - age, BODY)
    with pytest.raises(PermissionError, match="not from leadledger"):
        python_snippet()(body.encode(), headers, new_secret() if other_secret else secret)
