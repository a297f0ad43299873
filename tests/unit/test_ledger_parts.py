"""How the ledger's writer cuts a queue of requests into transactions: command requests
grouped up to the command limit, an erasure or a kept delivery always alone, nothing lost,
nothing reordered."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.commands import AddNote
from domain.envelope import Said
from service_layer.ledger import LedgerRequest, _parts
from service_layer.ledger_batch import WriteRequest
from service_layer.single_writes import EraseRequest

SAID = Said("human", "ana", datetime(2026, 1, 1, tzinfo=UTC))
NOTE = AddNote("+6281200000001", SAID, content="hi")


def write(commands: int) -> WriteRequest:
    return WriteRequest("acme", (NOTE,) * commands)


def erase() -> EraseRequest:
    return EraseRequest("acme", uuid4(), SAID, "request")


requests = st.lists(
    st.one_of(st.integers(0, 12).map(write), st.just(None).map(lambda _: erase())), max_size=40
)


@given(requests, st.integers(1, 10))
def test_parts_keep_every_request_once_in_order(queue: list[LedgerRequest], limit: int) -> None:
    parts = _parts(queue, limit)
    assert [r for part in parts for r in part] == queue
    assert all(part for part in parts)


@given(requests, st.integers(1, 10))
def test_single_writes_are_alone_and_batches_fit(queue: list[LedgerRequest], limit: int) -> None:
    for part in _parts(queue, limit):
        if any(not isinstance(r, WriteRequest) for r in part):
            assert len(part) == 1
        elif len(part) > 1:
            assert sum(len(r.commands) for r in part if isinstance(r, WriteRequest)) <= limit
