"""Command events recorded before principals (tests/fixtures/events_v1) load with
`principal` None — unknown, never guessed from the actor — on every backend; the same
facts recorded today through an API key carry the key's principal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.envelope import Said
from domain.principal import Principal, Role
from tests.conftest import services_at
from tests.integration.test_evolution_fixtures import LEADS, insert_v1_events

GAINED = {
    "StatusRequested",
    "StatusHoldReleased",
    "NoteAdded",
    "SarahPhaseReported",
    "PersonalDataErased",
}


@pytest.mark.parametrize("backend_name", ["memory", "sqlite"])
def test_v1_command_events_read_principal_none(tmp_path: Path, backend_name: str) -> None:
    with services_at(backend_name, tmp_path) as services:
        insert_v1_events(services)
        seen = set()
        for lead_id in LEADS.values():
            for event in services.store.events.get(lead_id):
                name = type(event).__name__
                if name in GAINED:
                    seen.add(name)
                    assert getattr(event, "principal", "missing") is None, name
                    assert getattr(event, "actor", None)  # the actor said stays as it was
        assert seen >= {"StatusRequested", "NoteAdded", "SarahPhaseReported"}


def test_a_principal_is_recorded_as_plain_values_without_the_secret() -> None:
    principal = Principal("acme", Role.CONSOLE, "crm", "key_0123", None).acting_for("dewi")
    said = Said("human", principal.actor, datetime.now(UTC), principal=principal)
    assert said.principal_record() == {
        "name": "crm",
        "role": "console",
        "key_id": "key_0123",
        "on_behalf_of": "dewi",
    }
    assert "principal" not in said.fields()  # not every event records one
    assert principal.actor == "dewi via crm"
