"""The lag section says who used the CPUs when the server did not keep up, and the aims
row says what the first read after each 200 showed."""

from __future__ import annotations

from typing import Any

from bench.aims import lag_aims
from bench.lag_report import _aim, cpu_shares


def level(**overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "backend": "sqlite",
        "level": "80 % of leadledger's sustained 440/s",
        "offered_rate_per_s": 352.0,
        "throughput_per_s": 255.0,
        "not_sent_deadline": 0,
        "errors": {},
        "lag_ms": {"p50": 42.9, "p90": 74.9, "p99": 164.0, "max": 244.4},
        "polls_per_message": 1.0,
        "total_seconds": 20.0,
        "server_cpu_s": 24.0,
        "client_cpu_s": 14.0,
        "machine": {"nproc": 2},
    }
    return result | overrides


def test_the_cpu_shares_of_server_and_clients_over_the_level() -> None:
    said = cpu_shares(level())
    assert "the server used 1.20 CPUs" in said
    assert "load generator and the probe threads) 0.70, of the machine's 2" in said
    assert "the CPUs were full" in said


def test_a_server_short_of_its_own_python_time_is_not_blamed_on_the_clients() -> None:
    said = cpu_shares(level(server_cpu_s=19.8, client_cpu_s=3.4))
    assert "used 0.99 CPUs" in said
    assert "bound by its Python work" in said
    assert "went to the clients" not in said


def test_a_result_from_before_cpu_was_measured_says_nothing_of_it() -> None:
    old = level()
    del old["server_cpu_s"]
    assert cpu_shares(old) == ""


def test_the_missed_lag_aim_says_the_first_read_showed_it_and_who_used_the_cpus() -> None:
    [row, missing] = lag_aims({"lag": {"aims": [_aim(level())]}})
    assert row["met"] is False
    assert row["why"].startswith("114 ms over; the server did not keep up (p99 164.0 ms at 255/s)")
    assert "the server used 1.20 CPUs" in row["why"]
    assert "(1.0 polls per message)" in row["why"]
    assert "reads served apart from ingest" in row["why"]
    assert missing["met"] is None  # the 500/s level was not in these results


def test_a_lag_that_needed_several_polls_is_not_said_to_be_the_reads_wait() -> None:
    [row, _] = lag_aims({"lag": {"aims": [_aim(level(polls_per_message=3.0))]}})
    assert "polls per message" not in row["why"]
    assert "a slower pass is a slower answer" in row["why"]
