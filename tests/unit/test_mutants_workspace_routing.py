"""Workspace routing of webhook items (service_layer/ingest.py): what a refusal names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.config.workspaces import Workspace, Workspaces
from adapters.eventstore.database_url import DatabaseURL
from adapters.eventstore.store import open_store
from adapters.webhooks.translation import TranslatedItem
from service_layer.errors import UnknownPhoneNumberIdError
from service_layer.ingest import Delivery, ingest
from service_layer.ledger import Ledger

TWO_WORKSPACES = Workspaces(
    {
        "acme": Workspace("acme", phone_number_ids=["111"]),
        "globex": Workspace("globex", phone_number_ids=["222"]),
    }
)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    store = open_store(DatabaseURL.parse("memory://"))
    try:
        yield Ledger(store)
    finally:
        store.close()


def test_an_unroutable_item_is_refused_naming_its_phone_number_id(ledger: Ledger) -> None:
    """Signed for both workspaces, a number neither owns has no workspace: the refusal says
    which number, so the operator knows what to add to the config."""
    unknown_number = "999"
    delivery = Delivery(
        channel="kapso",
        items=[TranslatedItem(phone_number_id=unknown_number)],
        signed_for={"acme", "globex"},
        headers={},
        received_at=datetime(2025, 11, 24, 16, tzinfo=UTC),
    )
    with pytest.raises(UnknownPhoneNumberIdError) as refused:
        ingest(ledger, TWO_WORKSPACES, delivery)
    assert refused.value.phone_number_id == unknown_number
    assert repr(unknown_number) in str(refused.value)
