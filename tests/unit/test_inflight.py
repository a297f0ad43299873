"""InFlight: one job per key at a time; a second submit joins it; kept results answer
later submits at once; a failed job is forgotten, so its retry runs again."""

from __future__ import annotations

import threading

import pytest

from service_layer.inflight import InFlight


def test_a_second_submit_of_a_running_key_joins_it() -> None:
    jobs = InFlight[int](workers=4)
    release, runs = threading.Event(), []

    def job() -> int:
        runs.append(1)
        release.wait(10)
        return 42

    first = jobs.submit("k", job, keep=False)
    second = jobs.submit("k", job, keep=False)
    assert second is first
    assert jobs.find("k") is first
    release.set()
    assert first.result(10) == 42
    assert runs == [1]
    assert jobs.find("k") is None  # not kept: the next submit runs again
    assert jobs.submit("k", job, keep=False).result(10) == 42
    assert runs == [1, 1]
    jobs.close()


def test_a_kept_result_answers_later_submits_without_running_again() -> None:
    jobs = InFlight[int](workers=2)
    runs: list[int] = []

    def job() -> int:
        runs.append(1)
        return len(runs)

    assert jobs.submit("big", job, keep=True).result(10) == 1
    assert jobs.submit("big", job, keep=True).result(10) == 1
    assert runs == [1]
    jobs.keep_seconds = 0.0  # expired: runs again
    assert jobs.submit("big", job, keep=True).result(10) == 2
    jobs.close()


def test_a_failed_job_is_forgotten() -> None:
    jobs = InFlight[int](workers=2)
    attempts: list[int] = []

    def job() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database unavailable")
        return 7

    with pytest.raises(RuntimeError):
        jobs.submit("k", job, keep=True).result(10)
    assert jobs.submit("k", job, keep=True).result(10) == 7
    jobs.close()
