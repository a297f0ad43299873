"""`fields()` of the provenance and of a message's verbatim parts (read from the instance's
own dict, not dataclasses.fields) gives exactly the declared fields, in order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from domain.envelope import Said
from domain.message_parts import InboundParts, OutboundParts, StatusParts


@pytest.mark.parametrize("cls", [InboundParts, OutboundParts, StatusParts])
def test_parts_give_every_declared_field_in_order(cls: type) -> None:
    declared = [f.name for f in dataclasses.fields(cls)]
    made = cls(**{name: f"v-{name}" for name in declared})
    assert made.fields() == {name: f"v-{name}" for name in declared}
    assert list(made.fields()) == declared


def test_said_gives_its_envelope_without_the_principal() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    said = Said("sarah", "bot", at, at, "key-1")
    declared = [f.name for f in dataclasses.fields(Said) if f.name != "principal"]
    assert list(said.fields()) == declared
    assert said.fields()["idempotency_key"] == "key-1"
    said.fields()["actor"] = "changed"  # a copy: the provenance itself stays as said
    assert said.actor == "bot"
