"""The group committer alone: batching, one outcome per caller, failures, close."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

import pytest

from service_layer.group_commit import GroupCommitter

WAIT = 30.0  # bound on every wait; never reached unless something hangs


class Writer:
    """A write_batch that records its batches; the first batch waits for `release`."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: set[str] = set()

    def __call__(self, requests: Sequence[int]) -> list[int | BaseException]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(requests))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(WAIT)
        return [ValueError(f"odd {r}") if r % 2 else r * 10 for r in requests]


def queue_behind_first(
    committer: GroupCommitter[int, int], writer: Writer, requests: range
) -> list[Future[int]]:
    first = committer.submit(0)
    assert writer.entered.wait(WAIT)
    futures = [committer.submit(r) for r in requests]
    assert committer.queued == len(requests)
    writer.release.set()
    return [first, *futures]


def test_waiting_requests_form_batches_of_at_most_max_batch() -> None:
    writer = Writer()
    committer = GroupCommitter(writer, max_batch=4)
    futures = queue_behind_first(committer, writer, range(1, 11))
    assert futures[0].result(WAIT) == 0
    for request, future in zip(range(1, 11), futures[1:], strict=True):
        if request % 2:
            with pytest.raises(ValueError, match=f"odd {request}"):
                future.result(WAIT)
        else:
            assert future.result(WAIT) == request * 10
    assert writer.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert committer.batches == 4
    assert writer.threads == {"group-commit"}
    committer.close()


def test_a_failing_batch_fails_its_callers_and_the_writer_goes_on() -> None:
    calls: list[Sequence[int]] = []

    def write(requests: Sequence[int]) -> list[int | BaseException]:
        calls.append(requests)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return [] if len(calls) == 2 else list(requests)  # 2nd: a wrong outcome count

    committer = GroupCommitter(write)
    with pytest.raises(RuntimeError, match="boom"):
        committer.submit(1).result(WAIT)
    with pytest.raises(RuntimeError, match="one outcome per request"):
        committer.submit(2).result(WAIT)
    assert committer.submit(3).result(WAIT) == 3
    committer.close()


def test_close_writes_what_is_queued_then_callers_write_inline() -> None:
    writer = Writer()
    committer = GroupCommitter(writer)
    futures = queue_behind_first(committer, writer, range(2, 6, 2))
    committer.close()
    assert [f.result(0) for f in futures] == [0, 20, 40]  # all done before close returned
    after = committer.submit(8)
    assert after.done()  # written by this thread, before submit returned
    assert after.result() == 80
    assert threading.current_thread().name in writer.threads


def test_a_request_from_the_writer_thread_is_written_inline() -> None:
    committer: GroupCommitter[int, int]
    nested: list[int] = []

    def write(requests: Sequence[int]) -> list[int | BaseException]:
        if requests == [1]:
            nested.append(committer.submit(2).result(WAIT))  # would deadlock if queued
        return [r * 10 for r in requests]

    committer = GroupCommitter(write)
    assert committer.submit(1).result(WAIT) == 10
    assert nested == [20]
    committer.close()
