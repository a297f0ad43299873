"""A webhook signed with one workspace's secret is refused for another workspace's number.

docs/configuration.md: with several workspaces, a delivery's phone_number_id chooses the
workspace and the signature must be made with that workspace's secret. The test workspaces
(tests/support.py) each hold their own secrets and number, so a signature that is valid
for A says nothing about B. Refused means 401 and nothing stored from the whole body: no
lead event and no kept-raw delivery, in either workspace, even for the items of a batch
that do belong to the signer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from adapters.webhooks.payloads import KAPSO_RECEIVED, meta_body
from api.http.app import create_app
from domain.identity import lead_id_for
from domain.lead_events import InboundMessageReceived
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import (
    AUTH,
    KAPSO_SECRET,
    META_SECRET,
    OTHER_AUTH,
    OTHER_KAPSO_SECRET,
    OTHER_META_SECRET,
    OTHER_PHONE_NUMBER_ID,
    OTHER_WORKSPACE,
    PHONE_NUMBER_ID,
    WORKSPACE,
    kapso_inbound,
    ledger_size,
    post_kapso,
    post_meta,
    sample_json,
)

UNKNOWN_EVENT = "whatsapp.widget.spun"  # no translator: kept raw when accepted
A_PHONE, B_PHONE = "+6281377771001", "+6281377772002"
# (number the delivery is for, the secrets that sign it) where the number is not the signer's.
CROSSED = [
    pytest.param(OTHER_PHONE_NUMBER_ID, (KAPSO_SECRET, META_SECRET), id="A-signs-for-B"),
    pytest.param(PHONE_NUMBER_ID, (OTHER_KAPSO_SECRET, OTHER_META_SECRET), id="B-signs-for-A"),
]


def stored(client: TestClient, services: Services) -> tuple[int, int, int]:
    """Ledger size and each workspace's kept-raw deliveries."""
    kept = [
        len(client.get("/deliveries/unhandled", headers=auth).json()["deliveries"])
        for auth in (AUTH, OTHER_AUTH)
    ]
    return ledger_size(services), kept[0], kept[1]


def kapso_message(number: str, phone: str, message_id: str) -> dict[str, Any]:
    element = kapso_inbound(message_id, phone[1:], phone, name="Nama Seseorang")
    element["phone_number_id"] = element["conversation"]["phone_number_id"] = number
    return element


def meta_change(number: str, field: str = "messages") -> dict[str, Any]:
    change: dict[str, Any] = sample_json("meta-text-message.json")["entry"][0]["changes"][0]
    change["field"] = field
    change["value"]["metadata"]["phone_number_id"] = number
    return change


def assert_refused(client: TestClient, services: Services, send: Callable[[], Any]) -> None:
    before = stored(client, services)
    resp = send()
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthorized"
    assert stored(client, services) == before


@pytest.mark.parametrize(("number", "secrets"), CROSSED)
def test_kapso_delivery_for_another_workspaces_number_is_refused(
    client: TestClient, services: Services, number: str, secrets: tuple[str, str]
) -> None:
    kapso_secret = secrets[0]
    message = kapso_message(number, A_PHONE, "wamid.cross.1")
    unknown = {"phone_number_id": number, "widget": {"id": "w-1"}}

    assert_refused(
        client, services, lambda: post_kapso(client, message, KAPSO_RECEIVED, secret=kapso_secret)
    )
    assert_refused(
        client, services, lambda: post_kapso(client, unknown, UNKNOWN_EVENT, secret=kapso_secret)
    )


@pytest.mark.parametrize("event", [KAPSO_RECEIVED, UNKNOWN_EVENT])
def test_a_kapso_batch_with_one_item_of_another_workspace_stores_nothing(
    client: TestClient, services: Services, event: str
) -> None:
    """A signs a batch of its own items plus one for B's number: the whole batch is 401."""
    own = [kapso_message(PHONE_NUMBER_ID, A_PHONE, f"wamid.own.{i}") for i in range(2)]
    foreign = kapso_message(OTHER_PHONE_NUMBER_ID, B_PHONE, "wamid.foreign.1")
    mixed = {"data": [own[0], foreign, own[1]]}

    assert_refused(client, services, lambda: post_kapso(client, mixed, event, batch=True))

    # The same batch without B's item is A's to send: the checks above could see a write.
    before = stored(client, services)
    resp = post_kapso(client, {"data": own}, event, batch=True)
    assert resp.status_code == 200, resp.text
    assert stored(client, services) != before


@pytest.mark.parametrize("field", ["messages", "account_update"])  # translated / kept raw
@pytest.mark.parametrize(("number", "secrets"), CROSSED)
def test_meta_delivery_for_another_workspaces_number_is_refused(
    client: TestClient, services: Services, number: str, secrets: tuple[str, str], field: str
) -> None:
    body = meta_body(meta_change(number, field))
    assert_refused(client, services, lambda: post_meta(client, body, secret=secrets[1]))


def test_a_meta_body_with_one_entry_of_another_workspace_stores_nothing(
    client: TestClient, services: Services
) -> None:
    """Entries for A's number (one translated, one kept raw) and one for B's, signed by A."""
    own = [meta_change(PHONE_NUMBER_ID), meta_change(PHONE_NUMBER_ID, "account_update")]
    mixed = meta_body(own[0], meta_change(OTHER_PHONE_NUMBER_ID), own[1])

    assert_refused(client, services, lambda: post_meta(client, mixed))

    before = stored(client, services)
    resp = post_meta(client, meta_body(*own))
    assert resp.status_code == 200, resp.text
    after = stored(client, services)
    assert (after[0] > before[0], after[1] > before[1]) == (True, True)


@pytest.mark.parametrize("channel", ["kapso", "meta"])
def test_each_workspace_may_sign_for_its_own_number(
    client: TestClient, services: Services, channel: str
) -> None:
    """The refusals above come from the crossing alone: each signer is accepted at home."""
    for number, kapso_secret, meta_secret, auth in (
        (PHONE_NUMBER_ID, KAPSO_SECRET, META_SECRET, AUTH),
        (OTHER_PHONE_NUMBER_ID, OTHER_KAPSO_SECRET, OTHER_META_SECRET, OTHER_AUTH),
    ):
        if channel == "kapso":
            body = kapso_message(number, A_PHONE, f"wamid.home.{number}")
            resp = post_kapso(client, body, KAPSO_RECEIVED, secret=kapso_secret)
        else:
            resp = post_meta(client, meta_body(meta_change(number)), secret=meta_secret)
        assert resp.status_code == 200, resp.text
        lead_id = resp.json()["facts"][0]["lead_id"]
        services.views.catch_up()
        assert client.get(f"/leads/{lead_id}", headers=auth).status_code == 200


WORKSPACE_NUMBERS = {"A": PHONE_NUMBER_ID, "B": OTHER_PHONE_NUMBER_ID, "unmapped": "999"}
SIGNERS = {"A": (WORKSPACE, KAPSO_SECRET), "B": (OTHER_WORKSPACE, OTHER_KAPSO_SECRET)}
sent = itertools.count()


@pytest.fixture(scope="module")
def memory_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Services]]:
    """One in-memory app for every hypothesis example (each sends to a fresh phone)."""
    built = bootstrap(settings_for("memory://", tmp_path_factory.mktemp("signers")))
    with TestClient(create_app(built.service)) as client:
        yield client, built
    built.close()


@settings(max_examples=60, deadline=None)
@given(
    owners=st.lists(st.sampled_from(sorted(WORKSPACE_NUMBERS)), min_size=1, max_size=4),
    signer=st.sampled_from(sorted(SIGNERS)),
)
def test_a_batch_is_accepted_only_when_every_item_is_the_signers(
    memory_client: tuple[TestClient, Services], owners: list[str], signer: str
) -> None:
    """An unmapped number goes to the only workspace that signed; any item of another
    workspace's number refuses the whole batch, which then stores nothing."""
    client, services = memory_client
    n = next(sent)
    phone = f"+628137{n:07d}"
    ids = [f"wamid.prop.{n}.{i}" for i in range(len(owners))]
    batch = {
        "data": [
            kapso_message(WORKSPACE_NUMBERS[owner], phone, message_id)
            for owner, message_id in zip(owners, ids, strict=True)
        ]
    }
    workspace, secret = SIGNERS[signer]
    before = stored(client, services)

    resp = post_kapso(client, batch, KAPSO_RECEIVED, batch=True, secret=secret)

    if all(owner in (signer, "unmapped") for owner in owners):
        assert resp.status_code == 200, resp.text
        events = services.store.events.get(lead_id_for(workspace, phone))
        inbound = [e for e in events if isinstance(e, InboundMessageReceived)]
        assert [e.message_id for e in inbound] == ids  # all of them, on the signer's lead
    else:
        assert resp.status_code == 401, resp.text
        assert stored(client, services) == before
