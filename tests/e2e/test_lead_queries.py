"""The query API over HTTP on every backend: filters, search, sort, keyset pages, a lead and
its rows, as_of replays, stats, audit, workspace isolation, and hostile query strings.

Views are eventually consistent: tests call `services.views.catch_up()` before reading.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from adapters.webhooks.payloads import kapso_message
from projections.rebuild import rebuild
from service_layer.bootstrap import Services
from tests.support import (
    AUTH,
    BRAIN_AUTH,
    CONSOLE_AUTH,
    HUMAN_AUTH,
    OTHER_AUTH,
    OTHER_WORKSPACE,
    PHONE_NUMBER_ID,
    SARAH_AUTH,
    auth_for,
    post_kapso,
)

# name -> (phone, Sarah report or None, Kapso message time or None)
SEED: dict[str, tuple[str, dict[str, Any] | None, int | None]] = {
    "a": (
        "+6281311110001",
        {
            "state": "collect_domisili",
            "lead_score": 35,
            "lead_temperature": "lukewarm",
            "extracted_data": {
                "name": "Budi",
                "business_type": "online shop",
                "domisili": "Bandung",
            },
        },
        1764000000,
    ),
    "b": (
        "+6281311110002",
        {
            "state": "validate_pain_points",
            "lead_score": 68,
            "lead_temperature": "warm",
            "extracted_data": {"name": "Sari", "business_type": "Kuliner", "domisili": "Jakarta"},
        },
        1764000100,
    ),
    "c": (
        "+6281311110003",
        {
            "state": "close_attempt",
            "lead_score": 82,
            "lead_temperature": "hot",
            "extracted_data": {
                "name": "Andi 100%_off",
                "business_type": "fashion",
                "domisili": "Surabaya",
            },
        },
        1764000100,
    ),
    "d": ("+6281311110004", None, 1764000200),
    "e": ("+6281311110005", {"state": "greeting", "extracted_data": {}}, None),
}
HOSTILE = [
    "'",
    "%",
    "_",
    ";",
    "\\",
    "' OR '1'='1",
    "1; DROP TABLE ll_contacts_l5_g1; --",  # the live contact view's real name
    "%' --",
    '"',
    "\x00",
    "é",
    "a" * 300,
    "-1",
    "1e9",
    "9" * 40,
]


def key_of(body: dict[str, Any]) -> dict[str, str]:
    """The key of the body's speaker: Brain's, or the human's."""
    return BRAIN_AUTH if body.get("source") == "brain" else HUMAN_AUTH


def sarah(client: TestClient, phone: str, report: dict[str, Any]) -> str:
    resp = client.post("/sarah/state", json={"contact_phone": phone, **report}, headers=SARAH_AUTH)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["lead_id"])


def inbound(client: TestClient, phone: str, at: int, text: str = "halo") -> str:
    digits = phone.lstrip("+")
    message_id = f"wamid.{digits}.{at}"
    body = kapso_message(
        message_id,
        phone,
        phone_number_id=PHONE_NUMBER_ID,
        conversation_id=f"conv_{digits}",
        text=text,
        sender=digits,
        timestamp=str(at),
        message_kapso={"content": text},
        conversation_kapso={"contact_name": f"Contact {digits[-2:]}"},
        new_conversation=True,
    )
    resp = post_kapso(client, body, "whatsapp.message.received", idempotency_key=message_id)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["facts"][0]["lead_id"])


def seed(client: TestClient, services: Services) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, (phone, report, at) in SEED.items():
        if report is not None:
            ids[name] = sarah(client, phone, report)
        if at is not None:
            ids[name] = inbound(client, phone, at)
    services.views.catch_up()
    return ids


def get(client: TestClient, path: str, expect: int = 200, **params: Any) -> Any:
    resp = client.get(path, params=params, headers=AUTH)
    assert resp.status_code == expect, resp.text
    return resp.json()


def names(client: TestClient, ids: dict[str, str], **params: Any) -> list[str]:
    """The seed names GET /leads returns, in order."""
    by_id = {v: k for k, v in ids.items()}
    return [by_id[lead["lead_id"]] for lead in get(client, "/leads", **params)["leads"]]


def every_page(client: TestClient, path: str, key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        page = get(client, path, 200, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page[key]) <= params["limit"]
        items += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


# -- filters and search ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "qualified"}, {"b"}),
        ({"status": ["new", "contacted"]}, {"a", "c", "d", "e"}),
        ({"status": "new,contacted"}, {"a", "c", "d", "e"}),
        ({"temperature": "hot"}, {"c"}),
        ({"chat_phase": "validate_pain_points"}, {"b"}),
        ({"score_min": 50}, {"b", "c"}),
        ({"score_max": 50}, {"a"}),
        ({"score_min": 60, "score_max": 70}, {"b"}),
        ({"last_message_since": "2025-11-24T16:01:00Z"}, {"b", "c", "d"}),
        ({"last_message_until": "2025-11-24T16:01:40Z"}, {"a", "b", "c"}),
        ({"last_message_until": "2025-11-24T23:01:40+07:00"}, {"a", "b", "c"}),
        ({"q": "BUDI"}, {"a"}),
        ({"q": "jakarta"}, {"b"}),
        ({"q": "Kuliner"}, {"b"}),
        ({"q": "6281311110004"}, {"d"}),
        ({"q": "contact 04"}, {"d"}),
        ({"q": "%"}, {"c"}),
        ({"q": "0%_o"}, {"c"}),
        ({"q": "_"}, {"c"}),
        ({"q": "' OR '1'='1"}, set()),
        ({"q": "\\"}, set()),
        ({"status": "new", "q": "budi", "temperature": "lukewarm"}, {"a"}),
        ({"q": "0813-1111-0004"}, {"d"}),  # the local spelling (an unknown parameter: 400)
    ],
)
def test_filters_narrow(
    client: TestClient, services: Services, params: dict[str, Any], expected: set[str]
) -> None:
    ids = seed(client, services)
    found = names(client, ids, **params)
    assert set(found) == expected
    assert len(found) == len(set(found))


def test_updated_range(client: TestClient, services: Services) -> None:
    ids = seed(client, services)
    middle = datetime.now(UTC)
    time.sleep(0.01)
    resp = client.post(
        f"/leads/{ids['b']}/notes",
        json={"content": "call back", "author": "ana"},
        headers=HUMAN_AUTH,
    )
    assert resp.status_code == 200, resp.text
    assert set(names(client, ids, updated_since=middle.isoformat())) == {"b"}
    assert set(names(client, ids, updated_until=middle.isoformat())) == {"a", "c", "d", "e"}


def test_conversation_status_and_status_source_filters(
    client: TestClient, services: Services
) -> None:
    """`conversation_status` follows the conversation (a first message opens it, Sarah's
    handoff hands it over); `status_source` is whoever holds the current status."""
    ids = seed(client, services)
    resp = client.post(
        f"/leads/{ids['a']}/status",
        json={"status": "archived", "source": "human", "actor": "ana"},
        headers=HUMAN_AUTH,
    )
    assert resp.status_code == 200, resp.text
    sarah(client, SEED["c"][0], {"state": "handoff"})
    services.views.catch_up()
    contacts = {k: get(client, f"/leads/{v}") for k, v in ids.items()}
    by_conversation = {
        state: {k for k, c in contacts.items() if c["conversation_status"] == state}
        for state in ("open", "closed", "handover")
    }
    assert by_conversation["handover"] == {"c"}
    assert "d" in by_conversation["open"]  # only a Kapso message: opened
    for state, expected in by_conversation.items():
        assert set(names(client, ids, conversation_status=state)) == expected
    assert set(names(client, ids, conversation_status="open,handover")) == (
        by_conversation["open"] | {"c"}
    )
    assert contacts["a"]["status_source"] == "human"
    assert set(names(client, ids, status_source="human")) == {"a"}
    by_sarah = {k for k, c in contacts.items() if c["status_source"] == "sarah"}
    assert by_sarah
    assert "a" not in by_sarah
    assert set(names(client, ids, status_source="sarah")) == by_sarah
    assert set(names(client, ids, status_source=["sarah", "human"])) == by_sarah | {"a"}
    for field, bad in (("conversation_status", "asleep"), ("status_source", "robot")):
        assert get(client, "/leads", 422, **{field: bad})["error"]["field"] == field


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"status": "new,bogus"}, "status"),
        ({"temperature": "boiling"}, "temperature"),
        ({"chat_phase": "dancing"}, "chat_phase"),
        ({"sort": "name"}, "sort"),
        ({"order": "up"}, "order"),
        ({"score_min": "x"}, "score_min"),
        ({"score_max": 101}, "score_max"),
        ({"score_min": 70, "score_max": 10}, "score_min"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"last_message_until": "2025-13-01"}, "last_message_until"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_values_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    body = get(client, "/leads", 422, **params)
    assert body["error"]["field"] == field


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", "1e2"])
def test_limit_out_of_range_is_422(client: TestClient, limit: str) -> None:
    assert get(client, "/leads", 422, limit=limit)["error"]["field"] == "limit"


def test_limit_bounds_accepted(client: TestClient, services: Services) -> None:
    seed(client, services)
    assert len(get(client, "/leads", limit=1)["leads"]) == 1
    assert len(get(client, "/leads", limit=200)["leads"]) == len(SEED)
    assert get(client, "/leads")["limit"] == 50


PARAMS = [
    "status",
    "temperature",
    "chat_phase",
    "score_min",
    "score_max",
    "updated_since",
    "updated_until",
    "last_message_since",
    "last_message_until",
    "q",
    "sort",
    "order",
    "limit",
    "cursor",
]


@pytest.mark.parametrize("param", PARAMS)
def test_sql_metacharacters_never_leak(client: TestClient, services: Services, param: str) -> None:
    ids = seed(client, services)
    mine = set(ids.values()) | {sarah(client, "+6281311119999", {"state": "greeting"})}
    services.views.catch_up()
    for value in HOSTILE:
        resp = client.get("/leads", params={param: value}, headers=AUTH)
        assert resp.status_code in (200, 422), (param, value, resp.text)
        if resp.status_code == 422:
            assert resp.json()["error"]["field"] == param
            continue
        leads = resp.json()["leads"]
        assert {lead["lead_id"] for lead in leads} <= mine
        if param == "q":  # taken literally: nothing in the seed contains these
            assert all(value.lower() in _searched(lead) for lead in leads), value
    # Nothing was dropped or changed, and the other workspace still sees nothing.
    assert len(get(client, "/leads")["leads"]) == len(mine)
    other_resp = client.get("/leads", params={"q": "' OR '1'='1"}, headers=OTHER_AUTH)
    assert other_resp.json()["leads"] == []


def _searched(lead: dict[str, Any]) -> str:
    fields = ("name", "sarah_name", "phone", "business_type", "domisili")
    return " | ".join(str(lead[f] or "").lower() for f in fields)


# -- sort and keyset pages -----------------------------------------------------------------


def test_default_sort_is_last_message_desc_nulls_last(
    client: TestClient, services: Services
) -> None:
    ids = seed(client, services)
    tied = sorted(["b", "c"], key=lambda n: ids[n], reverse=True)
    assert names(client, ids) == ["d", *tied, "a", "e"]
    assert names(client, ids, order="asc") == ["a", *reversed(tied), "d", "e"]


def test_sort_by_score_and_updated(client: TestClient, services: Services) -> None:
    ids = seed(client, services)
    assert names(client, ids, sort="lead_score")[:3] == ["c", "b", "a"]
    assert names(client, ids, sort="lead_score", order="asc")[:3] == ["a", "b", "c"]
    assert set(names(client, ids, sort="lead_score")[3:]) == {"d", "e"}  # NULLs last
    leads = get(client, "/leads", sort="updated_at", order="asc")["leads"]
    assert all(lead["updated_at"].endswith("Z") for lead in leads)
    times = [datetime.fromisoformat(lead["updated_at"]) for lead in leads]
    assert times == sorted(times)


@pytest.mark.parametrize("sort", ["last_message_at", "lead_score", "updated_at"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_visit_every_lead_once_under_ties(
    client: TestClient, services: Services, sort: str, order: str
) -> None:
    created = set()
    for i in range(9):
        phone = f"+62813111120{i:02d}"
        score = {"lead_score": 50} if i % 3 else {}
        created.add(sarah(client, phone, {"state": "greeting", **score}))
        if i < 6:  # six leads share one message time, three have none
            inbound(client, phone, 1764000000)
    services.views.catch_up()
    everything = [
        lead["lead_id"]
        for lead in get(client, "/leads", sort=sort, order=order, limit=200)["leads"]
    ]
    paged = every_page(client, "/leads", "leads", sort=sort, order=order, limit=2)
    assert [lead["lead_id"] for lead in paged] == everything
    assert set(everything) == created
    assert len(everything) == len(created)


def test_cursor_of_another_sort_is_refused(client: TestClient, services: Services) -> None:
    seed(client, services)
    cursor = get(client, "/leads", limit=2)["next_cursor"]
    assert cursor is not None
    assert (
        get(client, "/leads", 422, limit=2, cursor=cursor, order="asc")["error"]["field"]
        == "cursor"
    )


# -- one lead, its rows, isolation ---------------------------------------------------------


def test_lead_and_its_rows(client: TestClient, services: Services) -> None:
    ids = seed(client, services)
    lead_id = ids["b"]
    resp = client.post(
        f"/leads/{lead_id}/status",
        json={"status": "archived", "source": "human", "actor": "ana", "reason": "spam"},
        headers=HUMAN_AUTH,
    )
    assert resp.status_code == 200, resp.text
    first = {"content": "first", "author": "ana"}
    second = {"content": "second", "on_behalf_of": "bo"}
    client.post(f"/leads/{lead_id}/notes", json=first, headers=HUMAN_AUTH)
    client.post(f"/leads/{lead_id}/notes", json=second, headers=CONSOLE_AUTH)
    services.views.catch_up()
    lead = get(client, f"/leads/{lead_id}")
    assert (lead["lead_status"], lead["sarah_name"], lead["phone"]) == (
        "archived",
        "Sari",
        SEED["b"][0],
    )
    history = get(client, f"/leads/{lead_id}/status-history")["history"]
    assert [(h["from"], h["to"], h["source"], h["outcome"]) for h in history] == [
        ("new", "qualified", "sarah", "applied"),
        ("qualified", "archived", "human", "applied"),
    ]
    assert (history[1]["reason"], history[1]["actor"]) == ("spam", "ana")
    assert [h["position"] for h in history] == sorted(h["position"] for h in history)
    notes = get(client, f"/leads/{lead_id}/notes")["notes"]
    assert [(n["content"], n["actor"]) for n in notes] == [
        ("first", "ana"),
        ("second", "bo via crm-console"),
    ]
    messages = get(client, f"/leads/{lead_id}/messages")["messages"]
    assert [(m["direction"], m["type"], m["text"]) for m in messages] == [
        ("inbound", "text", "halo")
    ]
    assert messages[0]["at"] == "2025-11-24T16:01:40Z"


def test_other_workspace_gets_404_and_no_data(client: TestClient, services: Services) -> None:
    ids = seed(client, services)
    lead_id, phone = ids["a"], SEED["a"][0]
    paths = [
        f"/leads/{lead_id}",
        f"/leads/{lead_id}/status-history",
        f"/leads/{lead_id}/notes",
        f"/leads/{lead_id}/messages",
        f"/leads/{lead_id}/events",
        f"/leads/{lead_id}?as_of=2030-01-01T00:00:00Z",
        f"/leads/by-phone/{quote(phone, safe='')}",
    ]
    for path in paths:
        resp = client.get(path, headers=OTHER_AUTH)
        assert resp.status_code == 404, (path, resp.text)
        assert set(resp.json()) == {"error"}
        assert "Budi" not in resp.text
    for path, body in [
        (f"/leads/{lead_id}/status", {"status": "archived"}),
        (f"/leads/{lead_id}/notes", {"content": "x"}),
        (f"/leads/{lead_id}/status/release", {}),
    ]:
        other_human = auth_for(path, OTHER_WORKSPACE)
        assert client.post(path, json=body, headers=other_human).status_code == 404
    assert get(client, f"/leads/{lead_id}")["lead_status"] == "new"  # nothing recorded
    other = client.get("/stats", headers=OTHER_AUTH).json()
    assert other == {"total": 0, "by_status": {}, "by_temperature": {}}
    assert client.get("/audit", headers=OTHER_AUTH).json()["entries"] == []
    assert client.get("/leads", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_unknown_lead_and_bad_id(client: TestClient) -> None:
    assert get(client, "/leads/00000000-0000-0000-0000-000000000000", 404)["error"]
    assert get(client, "/leads/not-a-uuid", 422)["error"]["field"] == "lead_id"
    assert get(client, "/leads/by-phone/nope", 422)["error"]["field"] == "phone"


def test_by_phone_catches_up_a_lagging_view(client: TestClient, services: Services) -> None:
    lead_id = sarah(client, "+6281311110001", {"state": "greeting"})
    services.follower.stop()  # nothing moves the views but the request itself
    lead_id2 = sarah(client, "+6281311110002", {"state": "listening"})
    lead = get(client, f"/leads/by-phone/{quote('0813-1111-0002', safe='')}")
    assert (lead["lead_id"], lead["lead_status"]) == (lead_id2, "qualified")
    assert lead_id != lead_id2


# -- as_of -----------------------------------------------------------------------------------


def test_as_of_before_and_after_a_status_change(client: TestClient, services: Services) -> None:
    before_lead = datetime.now(UTC)
    time.sleep(0.01)
    lead_id = sarah(client, "+6281311110001", {"state": "listening"})
    time.sleep(0.01)
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    resp = client.post(
        f"/leads/{lead_id}/status",
        json={"status": "archived", "source": "human", "actor": "ana"},
        headers=HUMAN_AUTH,
    )
    assert resp.status_code == 200, resp.text
    then = get(client, f"/leads/{lead_id}", as_of=before_change.isoformat())
    assert (then["lead_status"], then["status_source"]) == ("qualified", "sarah")
    now = get(client, f"/leads/{lead_id}", as_of=datetime.now(UTC).isoformat())
    assert (now["lead_status"], now["status_held"]) == ("archived", True)
    services.views.catch_up()
    assert now == get(client, f"/leads/{lead_id}")  # a replay of today is the live view
    get(client, f"/leads/{lead_id}", 404, as_of=before_lead.isoformat())
    for bad in ("yesterday", "2025-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00"):
        assert get(client, f"/leads/{lead_id}", 422, as_of=bad)["error"]["field"] == "as_of"
    # An unencoded "+07:00" arrives as a space: still read as the offset.
    local = before_change.astimezone().isoformat()
    resp = client.get(f"/leads/{lead_id}?as_of={local}", headers=AUTH)
    assert resp.status_code == 200
    assert resp.json()["lead_status"] == "qualified"


def test_reads_follow_a_rebuild_and_its_policy(client: TestClient, services: Services) -> None:
    """After a blue/green rebuild the reads use the new generation, and as_of replays use
    the new (active) policy: here one without human holds, where Brain outranks humans."""
    lead_id = sarah(client, "+6281311110001", {"state": "listening"})
    for body in (
        {"status": "archived", "source": "human", "actor": "ana"},
        {"status": "contacted", "source": "brain", "actor": "brain-1"},
    ):
        assert client.post(f"/leads/{lead_id}/status", json=body, headers=key_of(body)).is_success
    assert get(client, f"/leads/{lead_id}")["lead_status"] == "archived"
    result = rebuild(
        services.engines.write,
        services.store,
        "hold = []\n[ranks]\nbrain = 3\nhuman = 2\nsarah = 1\nimport = 0\n",
    )
    assert result.generation == 2
    live = get(client, f"/leads/{lead_id}")
    assert (live["lead_status"], live["status_source"]) == ("contacted", "brain")
    assert get(client, f"/leads/{lead_id}", as_of=datetime.now(UTC).isoformat()) == live
    assert [lead["lead_id"] for lead in get(client, "/leads")["leads"]] == [lead_id]
    history = get(client, f"/leads/{lead_id}/status-history")["history"]
    assert [h["outcome"] for h in history] == ["applied", "applied", "applied"]


# -- stats and audit -------------------------------------------------------------------------


def test_stats_counts(client: TestClient, services: Services) -> None:
    seed(client, services)
    assert get(client, "/stats") == {
        "total": 5,
        "by_status": {"new": 3, "qualified": 1, "contacted": 1},
        "by_temperature": {"lukewarm": 1, "warm": 1, "hot": 1, "unset": 2},
    }


def test_audit_filters_and_pages(client: TestClient, services: Services) -> None:
    ids = seed(client, services)
    for name, body in [
        ("a", {"status": "archived", "source": "human", "actor": "ana"}),
        ("c", {"status": "converted", "source": "brain", "actor": "brain-1"}),
    ]:
        assert client.post(f"/leads/{ids[name]}/status", json=body, headers=key_of(body)).is_success
    assert client.post(
        f"/leads/{ids['b']}/notes",
        json={"content": "vip", "on_behalf_of": "bob"},
        headers=CONSOLE_AUTH,
    ).is_success
    services.views.catch_up()
    human = get(client, "/audit", source="human")["entries"]
    assert [(e["kind"], e["actor"]) for e in human] == [
        ("note", "bob via crm-console"),
        ("status", "ana"),
    ]
    assert human[1] | {"at": None} == human[1] | {
        "lead_id": ids["a"],
        "phone": SEED["a"][0],
        "from": "new",
        "to": "archived",
        "outcome": "applied",
        "origin": "request",
        "at": None,
    }
    assert [e["to"] for e in get(client, "/audit", actor="brain-1")["entries"]] == ["converted"]
    assert get(client, "/audit", actor="nobody")["entries"] == []
    sarah_rows = get(client, "/audit", source="sarah")["entries"]
    assert {e["lead_id"] for e in sarah_rows} == {ids["a"], ids["b"], ids["c"], ids["e"]}
    everything = get(client, "/audit", limit=200)["entries"]
    times = [datetime.fromisoformat(e["at"]) for e in everything]
    assert times == sorted(times, reverse=True)
    assert every_page(client, "/audit", "entries", limit=2) == everything
    assert get(client, "/audit", 422, source="robot")["error"]["field"] == "source"
    assert get(client, "/audit", 422, cursor="x")["error"]["field"] == "cursor"
    assert get(client, "/audit", since="2999-01-01T00:00:00Z")["entries"] == []


# -- command answers and the OpenAPI document ----------------------------------------------


def test_commands_answer_with_outcome_and_lead(client: TestClient) -> None:
    lead_id = sarah(client, "+6281311110001", {"state": "listening"})
    headers = {**HUMAN_AUTH, "Idempotency-Key": "k-1"}
    body = {"status": "archived", "source": "human", "actor": "ana", "reason": "spam"}
    first = client.post(f"/leads/{lead_id}/status", json=body, headers=headers).json()
    assert (first["outcome"], first["outcome_reason"], first["appended"]) == (
        "applied",
        "higher_priority",
        True,
    )
    assert first["status_change"]["to"] == "archived"
    assert first["lead"]["lead_status"] == "archived"
    retry = client.post(f"/leads/{lead_id}/status", json=body, headers=headers)
    assert retry.json() == first  # the first answer, replayed
    assert retry.headers["Idempotent-Replayed"] == "true"
    brain = client.post(
        f"/leads/{lead_id}/status",
        json={"status": "contacted", "source": "brain", "actor": "brain-1"},
        headers=BRAIN_AUTH,
    ).json()
    assert (brain["outcome"], brain["outcome_reason"]) == ("suppressed", "held_by_human")
    assert brain["lead"]["lead_status"] == "archived"
    released = client.post(
        f"/leads/{lead_id}/status/release", json={"actor": "ana"}, headers=HUMAN_AUTH
    ).json()
    assert (released["outcome"], released["outcome_reason"]) == ("applied", "hold_released")
    assert released["lead"]["status_held"] is False
    note = client.post(
        f"/leads/{lead_id}/notes", json={"content": "hi", "author": "ana"}, headers=HUMAN_AUTH
    ).json()
    assert (note["outcome"], note["note"]["content"]) == ("applied", "hi")


def test_openapi_documents_the_query_api(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    leads = doc["paths"]["/leads"]["get"]
    params = {p["name"]: p for p in leads["parameters"]}
    assert set(PARAMS) <= set(params)
    assert params["limit"]["schema"]["maximum"] == 200
    assert "qualified" in str(params["status"]["schema"])
    for path in (
        "/leads/{lead_id}",
        "/leads/{lead_id}/status-history",
        "/leads/{lead_id}/notes",
        "/leads/{lead_id}/messages",
        "/stats",
        "/audit",
        "/leads/by-phone/{phone}",
    ):
        assert doc["paths"][path]["get"]["security"] == [{"bearer": []}], path
    assert "as_of" in {p["name"] for p in doc["paths"]["/leads/{lead_id}"]["get"]["parameters"]}
    assert "from" in doc["components"]["schemas"]["StatusChangeOut"]["properties"]
    assert "LeadPageOut" in doc["components"]["schemas"]
