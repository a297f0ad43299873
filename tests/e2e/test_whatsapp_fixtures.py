"""Acceptance: every recorded WhatsApp Cloud and Kapso body (tests/fixtures/whatsapp/),
posted signed, is answered 200; each part the manifest lists becomes facts on the lead
the docs say it is about, or one kept-raw delivery with its reason; posting everything
again, or a Kapso batch one element at a time, appends nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from service_layer.bootstrap import Services
from tests.e2e.test_server import clean_env, running_server
from tests.support import (
    API_KEY,
    AUTH,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    WORKSPACE,
)
from tests.whatsapp_fixtures import Fixture, fixtures

# Parts that name a customer but are no fact of their own (a contacts[] display name).
NOT_COUNTED = {"contact"}
# A display name is recorded whenever it differs from the lead's last one, so bodies that
# spell one person's name differently (as these fixtures do) re-say it when replayed in
# turn: a name said again after another, not a part counted twice. The others must not move.
RESAID = {"ContactNameReported"}


def facts_by_type(services: Services) -> Counter[str]:
    events = services.store.recorder.select_notifications(start=None, limit=100_000)
    names = (services.store.mapper.to_domain_event(n).__class__.__name__ for n in events)
    return Counter(name for name in names if name not in RESAID)


def answered(client: TestClient, fixture: Fixture, raw: bytes | None = None, **kw: Any) -> Any:
    body = fixture.raw if raw is None else raw
    resp = client.post(fixture.path, content=body, headers=fixture.signed(body, **kw))
    assert resp.status_code == 200, (fixture.file, resp.text)
    return resp.json()


def translated(answer: Any) -> list[tuple[str, UUID]]:
    found = []
    for part in answer["parts"]:
        if part["outcome"] == "recorded" and part["kind"] not in NOT_COUNTED:
            [lead] = {fact["lead_id"] for fact in part["facts"]}  # one part, one lead
            found.append((part["kind"], UUID(lead)))
    return sorted(found)


def without_leads(answer: Any) -> Any:
    return json.loads(json.dumps(answer).replace('"lead_id"', '"_"'), object_hook=_drop_lead)


def _drop_lead(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k != "_"}


def leads_of(answer: Any) -> list[str]:
    return [fact["lead_id"] for fact in answer["facts"]]


def holders(services: Services, lead_id: str) -> set[str]:
    """The leads this one's history is now held by (its IdentityLinked facts)."""
    lead = services.ledger.get_lead(WORKSPACE, UUID(lead_id))
    return {str(lead.held_by)} if lead.held_by else set()


@pytest.mark.parametrize("backend", ["memory"])
def test_every_fixture_part_is_recorded_or_kept_exactly_once(
    client: TestClient, services: Services
) -> None:
    checked: Counter[str] = Counter()
    answers = {}
    for fixture in fixtures():
        answer = answered(client, fixture)
        answers[fixture.file] = answer
        assert translated(answer) == fixture.expected(), fixture.file
        kept = [p for p in answer["parts"] if p["outcome"] == "kept_unhandled"]
        assert len(kept) == fixture.unhandled(), (fixture.file, kept)
        assert all(p["reason"] for p in kept)
        checked.update(p["kind"] for p in fixture.parts)
    stored = facts_by_type(services)
    print("\nstored:", dict(sorted(stored.items())))
    listed = client.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
    assert len(listed) == sum(f.unhandled() for f in fixtures())

    # Redelivered: the same answers, nothing appended. A fact's lead may now be the lead
    # holding that customer's history: ids seen together in later fixtures (a BSUID beside
    # a phone) were linked in between, and the ledger sends the facts to the holder.
    for fixture in fixtures():
        again = answered(client, fixture)
        assert without_leads(again) == without_leads(answers[fixture.file]), fixture.file
        for before, after in zip(leads_of(answers[fixture.file]), leads_of(again), strict=True):
            assert after == before or after in holders(services, before), fixture.file
    assert facts_by_type(services) == stored

    # Re-batched: each element of a Kapso batch alone, under a new idempotency key.
    rebatched = 0
    for fixture in fixtures():
        body = json.loads(fixture.raw)
        if fixture.channel != "kapso" or not isinstance(body.get("data"), list):
            continue
        alone = Fixture(fixture.file, "kapso", fixture.event, {}, [])
        for index, element in enumerate(body["data"]):
            raw = json.dumps(element).encode()
            answered(client, alone, raw, key=f"rebatched-{index}")
            rebatched += 1
    assert rebatched > 0
    assert facts_by_type(services) == stored

    total = sum(checked.values())
    print(
        f"\nchecked {total} parts of {len(answers)} bodies: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(checked.items()))
    )
    assert total == sum(len(f.parts) for f in fixtures())


def test_every_fixture_through_the_real_server(tmp_path: Path) -> None:
    """The same, once, over TCP against `leadledger serve` (uvicorn) on SQLite."""
    env = clean_env(
        LEADLEDGER_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}",
        LEADLEDGER_API_KEYS=f"{WORKSPACE}={API_KEY}",
        LEADLEDGER_KAPSO_WEBHOOK_SECRET=KAPSO_SECRET,
        LEADLEDGER_META_APP_SECRET=META_SECRET,
        LEADLEDGER_META_VERIFY_TOKEN=META_VERIFY_TOKEN,
        LEADLEDGER_DATA_DIR=str(tmp_path),
    )
    with running_server(env, tmp_path, tmp_path / "server.log") as server, server.client() as c:

        def post_all() -> list[Any]:
            answers = []
            for fixture in fixtures():
                resp = c.post(fixture.path, content=fixture.raw, headers=fixture.signed())
                assert resp.status_code == 200, server.failure(f"{fixture.file}: {resp.text}")
                answers.append(resp.json())
            return answers

        def stored(leads: set[UUID]) -> Counter[str]:
            types = (
                e["type"]
                for lead in sorted(leads)
                for e in c.get(f"/leads/{lead}/events", headers=AUTH).json()["events"]
            )
            return Counter(t for t in types if t not in RESAID)

        first = post_all()
        for fixture, answer in zip(fixtures(), first, strict=True):
            assert translated(answer) == fixture.expected(), fixture.file
        leads = {lead for answer in first for _, lead in translated(answer)}
        before = stored(leads)
        # Again: the same answers (a fact's lead may be the holder a later link named).
        assert [without_leads(a) for a in post_all()] == [without_leads(a) for a in first]
        assert stored(leads) == before
        unhandled = c.get("/deliveries/unhandled", headers=AUTH).json()["deliveries"]
        assert len(unhandled) == sum(f.unhandled() for f in fixtures())
