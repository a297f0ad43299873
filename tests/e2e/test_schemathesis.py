"""Fuzz the OpenAPI document with schemathesis against the running app, on every backend.

The schema is loaded from the app's own `/openapi.json` (`schemathesis.openapi.from_asgi`,
which also starts the app's lifespan once); every operation then gets two bounded,
deterministic phases, as schemathesis' own pytest plugin runs them:

- coverage: schemathesis' boundary values, missing and wrong-typed parameters and
  unexpected HTTP methods (positive and negative);
- fuzzing: Hypothesis-generated cases, `MAX_EXAMPLES` per operation (not shrunk, so bounded
  even when failing), new ones on every run from a seed that is printed and can be replayed
  with LEADLEDGER_SCHEMATHESIS_SEED=<seed> (docs/testing.md), schema-valid and
  schema-violating; then, where the app needs more than the schema says, `MAX_EXAMPLES`
  valid ones steered there (a seeded lead's id, a real phone number, a routed WhatsApp
  number).

Bearer operations carry the workspace key; webhooks carry a valid signature over the exact
bytes sent, so fuzzing reaches the translators rather than stopping at the signature
check. Every answer: no 5xx, a documented status, the documented content type, a body
matching the response schema, and 405 with `Allow` for a method the path does not have.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core import NotSet
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from adapters.webhooks.payloads import kapso_message, meta_body, meta_headers
from adapters.webhooks.signatures import sign
from api.http.app import create_app
from api.http.routes import ENDPOINTS
from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.support import (
    AUTH,
    HUMAN_AUTH,
    KAPSO_SECRET,
    META_SECRET,
    META_VERIFY_TOKEN,
    PHONE_NUMBER_ID,
    SARAH_AUTH,
    auth_for,
    kapso_headers,
)
from tests.support.elsewhere import appending_elsewhere

AnyCase = Case[Any]
Operation = APIOperation[Any, Any, Any, Any]
MAX_EXAMPLES = 25
# One seed per run, for every operation and backend: random, or the one to replay.
SEED = int(os.environ.get("LEADLEDGER_SCHEMATHESIS_SEED") or random.SystemRandom().getrandbits(32))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
]
FUZZING = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded even when failing
    suppress_health_check=list(HealthCheck),
)
PHONE = "+6281355550001"
USER_ID = "ID.1355550001000001"  # a customer known only by business-scoped user id
# An event stream never ends: tests/e2e/test_change_stream.py checks it with an SSE client.
OPERATIONS = [f"{e.method} {e.path}" for e in ENDPOINTS if e.response_media != "text/event-stream"]
SIGNED = {"/webhook/kapso": "kapso", "/webhook/meta": "meta"}
# Body fields naming who speaks; the API key decides them (api/http/auth.py `speaker`).
SPEAKER_FIELDS = ("source", "actor", "author", "on_behalf_of")


@pytest.fixture
def fuzzed(services: Services) -> Iterator[tuple[BaseSchema, str, str]]:
    """The schema served by the running app, a seeded lead's id and a database key's id."""
    with running(services) as (schema, session):
        lead_id = seed(session)
        key = session.post("/keys", headers=AUTH, json={"role": "reader", "name": "fuzz"})
        assert key.status_code == 200, key.text
        yield schema, lead_id, key.json()["info"]["id"]


@contextmanager
def running(services: Services) -> Iterator[tuple[BaseSchema, requests.Session]]:
    """The app's schema, loaded from the app (which starts its lifespan), and a session."""
    app: Any = create_app(services.service)  # schemathesis types ASGI apps with plain dicts
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        with asgi.get_client(app) as session:
            yield schema, session
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan: stops the follower, closes the stores


def seed(session: requests.Session) -> str:
    """A lead with a message, a Sarah report, a status change and a note."""
    digits = PHONE.lstrip("+")
    element = kapso_message(
        "wamid.fuzz.1",
        PHONE,
        phone_number_id=PHONE_NUMBER_ID,
        conversation_id="conv_fuzz",
        text="halo",
        sender=digits,
        conversation_kapso={"contact_name": "Fuzz"},
        new_conversation=None,
    )
    message = json.dumps(element).encode()
    resp = session.post(
        "/webhook/kapso", data=message, headers=kapso_headers(message, "whatsapp.message.received")
    )
    assert resp.status_code == 200, resp.text
    by_user_id = meta_body(
        {
            "field": "messages",
            "value": {
                "metadata": {"phone_number_id": PHONE_NUMBER_ID},
                "messages": [
                    {
                        "from_user_id": USER_ID,
                        "id": "wamid.fuzz.user",
                        "timestamp": "1764000000",
                        "type": "text",
                        "text": {"body": "halo"},
                    }
                ],
            },
        }
    )
    raw = json.dumps(by_user_id).encode()
    resp = session.post("/webhook/meta", data=raw, headers=meta_headers(META_SECRET, raw))
    assert resp.status_code == 200, resp.text
    resp = session.post(
        "/sarah/state",
        headers=SARAH_AUTH,
        json={
            "contact_phone": PHONE,
            "state": "listening",
            "lead_score": 40,
            "lead_temperature": "warm",
            "extracted_data": {"name": "Fuzz", "domisili": None},
        },
    )
    assert resp.status_code == 200, resp.text
    lead_id = str(resp.json()["lead_id"])
    for path, body in [
        ("status", {"status": "qualified", "source": "human", "actor": "ana"}),
        ("notes", {"content": "called", "author": "ana"}),
    ]:
        resp = session.post(f"/leads/{lead_id}/{path}", headers=HUMAN_AUTH, json=body)
        assert resp.status_code == 200, resp.text
    return lead_id


@pytest.mark.parametrize("operation", OPERATIONS)
def test_answers_match_the_schema(fuzzed: tuple[BaseSchema, str, str], operation: str) -> None:
    schema, lead_id, key_id = fuzzed
    replay = f"replay with LEADLEDGER_SCHEMATHESIS_SEED={SEED}"
    print(f"{operation}: fuzzing seed {SEED} ({replay})")  # in the report of a failure
    method, path = operation.split(" ", 1)
    op = schema[path][method]
    seen: Counter[int] = Counter()

    coverage = schema.iter_coverage_cases(
        op,
        generation_modes=MODES,
        generation_config=schema.config.generation_for(operation=op, phase="coverage"),
    )
    for case in coverage:
        seen[call(case)] += 1
    assert seen, f"{operation}: no coverage cases"

    for strategy in (cases(op), steered(op, lead_id, key_id)):
        if strategy is None:
            continue

        @FUZZING
        @hypothesis.seed(SEED)
        @given(case=strategy)
        def fuzz(case: AnyCase) -> None:
            seen[call(case)] += 1

        fuzz()
    assert expected_reach(path, method) <= set(seen), (operation, seen, replay)


def test_not_ready_answer_matches_the_schema(database_url: str, tmp_path: Path) -> None:
    """/readyz answers 503 with its own body (not an error body) and Retry-After."""
    settings = settings_for(database_url, tmp_path)
    services = bootstrap(settings.model_copy(update={"follow": False, "ready_max_lag": 0}))
    try:
        with running(services) as (schema, session):
            with appending_elsewhere(services):  # not this process's inline views pass
                resp = session.post(
                    "/sarah/state",
                    headers=SARAH_AUTH,
                    json={"contact_phone": PHONE, "state": "greeting"},
                )
            assert resp.status_code == 200, resp.text  # in the ledger; no follower: views lag
            conformance = [c for c in CHECKS if c is not not_a_server_error]  # 503 is the point
            answer = schema["/readyz"]["GET"].Case().call_and_validate(checks=conformance)
    finally:
        services.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["failed"] == "projection_lag"


def call(case: AnyCase) -> int:
    """Send the case, authenticated as its operation requires; run the checks."""
    status: int = case.call_and_validate(checks=CHECKS, **credentials(case)).status_code
    return status


def expected_reach(path: str, method: str) -> set[int]:
    """Statuses the run must have produced: proof that it got past the auth and the 404s."""
    if path in ("/webhook/kapso", "/webhook/meta") and method == "POST":
        # Signed: past the signature, every part recorded or kept raw with its reason
        # (a signed delivery is never refused for one bad part).
        return {200}
    if path == "/webhook/meta":
        return {200, 403}
    if "{key_id}" in path:  # a revoked or rotated key stays so: 200 first, then 422
        return {200, 404}
    if path.startswith("/subscriptions"):
        # Fuzzed receiver URLs are refused (no allow-list here) and fuzzed ids are unknown:
        # past the auth means 422 or 404 (tests/e2e/test_subscriptions_api.py has the 200s).
        if method == "POST" and path == "/subscriptions":
            return {422}
        return {404} if "{" in path else {200}
    if path == "/sarah/state" or "{" in path:
        return {200, 422}
    return {200}


def cases(op: Operation) -> st.SearchStrategy[AnyCase]:
    """Schema-valid and schema-violating cases."""
    return st.one_of([op.as_strategy(mode) for mode in MODES])


def steered(op: Operation, lead_id: str, key_id: str) -> st.SearchStrategy[AnyCase] | None:
    """Valid cases steered where the app needs more than the schema says (a seeded lead, a
    real phone, a routed number), or None. Fuzzed on their own: mixed in with the others
    they got a few examples a run, and some runs none that reached a 200."""
    strategies = []
    names = {p.name for p in op.path_parameters}
    if "lead_id" in names:
        # The seeded lead, and a body leaving who speaks to the key: a fuzzed actor, author
        # or source is another speaker (403), so a 200 would otherwise be luck.
        seeded = op.as_strategy(path_parameters={"lead_id": lead_id})
        strategies.append(seeded.map(without_body(*SPEAKER_FIELDS)))
    if "phone" in names:
        strategies.append(op.as_strategy(path_parameters={"phone": PHONE}))
    if "key_id" in names:
        strategies.append(op.as_strategy(path_parameters={"key_id": key_id}))
    if "user_id" in names:
        strategies.append(op.as_strategy(path_parameters={"user_id": USER_ID}))
    if (op.method.upper(), op.path) == ("GET", "/webhook/meta"):
        strategies.append(op.as_strategy(query={"hub.mode": "subscribe"}))
        strategies.append(
            op.as_strategy(query={"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN})
        )
    if op.path == "/sarah/state":
        strategies.append(op.as_strategy().map(with_body(contact_phone=PHONE)))
    if op.path == "/webhook/kapso":
        strategies.append(op.as_strategy().map(with_body(phone_number_id=PHONE_NUMBER_ID)))
    return st.one_of(strategies) if strategies else None


def without_body(*names: str) -> Callable[[AnyCase], AnyCase]:
    def steer(case: AnyCase) -> AnyCase:
        if isinstance(case.body, dict):
            case.body = {k: v for k, v in case.body.items() if k not in names}
        return case

    return steer


def with_body(**values: str) -> Callable[[AnyCase], AnyCase]:
    def steer(case: AnyCase) -> AnyCase:
        if isinstance(case.body, dict):
            case.body = {**case.body, **values}
        return case

    return steer


def credentials(case: AnyCase) -> dict[str, Any]:
    """Transport arguments: the bearer key, or a valid signature over the exact bytes sent
    (the body is then sent as those bytes)."""
    channel = SIGNED.get(case.operation.path)
    if channel is not None and case.method.upper() == "POST":
        raw = body_bytes(case.body)
        if channel == "kapso":
            return {"headers": {"X-Webhook-Signature": sign(KAPSO_SECRET, raw)}, "data": raw}
        return {"headers": {"X-Hub-Signature-256": "sha256=" + sign(META_SECRET, raw)}, "data": raw}
    # A key whose role may call the route (the body may still name another actor: 403).
    return {"headers": auth_for(case.operation.path)}


def body_bytes(body: Any) -> bytes:
    """What schemathesis would send for the body (its JSON serializer's rules)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, NotSet):
        return b""
    if body is None:
        return b"null"
    return json.dumps(body).encode()
