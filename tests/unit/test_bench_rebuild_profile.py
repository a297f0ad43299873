"""The rebuild bench's profile: py-spy's raw samples of the rebuild and its worker
processes, given to stages (bench/rebuild_stages.py), shown in its section and cited by
the issue's rebuild aims. Synthetic profiles only: no rebuild runs here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.aims import issue_aims
from bench.profiling import ROOT, SITE
from bench.rebuild_report import report
from bench.rebuild_stages import FEED, OTHER, STARTUP, read_profile
from bench.run import jobs

PARENT = 'process 100:"/venv/bin/python3 /venv/bin/leadledger projections rebuild"'
WORKER = 'process 200:"/venv/bin/python3 -m projections.rebuild_worker"'
MAIN = "thread (100): MainThread"
CLI = "<module> (leadledger:8);rebuild (projections/rebuild.py:60)"
FILL = "fill_partition (projections/rebuild_worker.py:110);_fill (projections/rebuild_worker.py:13)"
PAGE = "apply_page_isolating (projections/writer.py:160);apply_page (projections/writer.py:66)"
EXECUTEMANY = "DefaultDialect.do_executemany (sqlalchemy/engine/default.py:921)"


def sample(*frames: str, count: int, worker: bool = False) -> str:
    owner = [PARENT, WORKER, "thread (200)"] if worker else [PARENT, MAIN]
    return f"{';'.join([*owner, *frames])} {count}"


# The parent folds partition 0 and builds the indexes; the worker folds partition 1.
RAW = "\n".join(
    [
        sample(CLI, PAGE, "changes_of (domain/reducer/changes.py:90)", count=20),
        # The feed's rows are written by SQL too: the feed's, not the views' SQL writes.
        sample(CLI, PAGE, "write (projections/feed_rows.py:120)", EXECUTEMANY, count=10),
        sample(CLI, PAGE, "_write (projections/writer.py:110)", EXECUTEMANY, count=8),
        sample(FILL, PAGE, "_write (projections/writer.py:110)", count=7, worker=True),
        sample(FILL, PAGE, "apply (domain/reducer/fold.py:40)", count=15, worker=True),
        sample(
            FILL,
            "read_page (projections/source.py:60)",
            "_lead_events (projections/source.py:110)",
            "SealingMapper.to_domain_event (adapters/eventstore/sealing.py:150)",
            count=12,
            worker=True,
        ),
        sample(CLI, "create_indexes (projections/rebuild.py:140)", EXECUTEMANY, count=5),
        sample("_find_and_load (<frozen importlib._bootstrap>:1176)", count=6, worker=True),
        f"{PARENT} 4",  # no Python frame yet (or any more): the interpreter's own
        sample(CLI, "Live.refresh (rich/live.py:240)", count=3),
        "not a sample line",
    ]
)


def test_each_sample_goes_to_the_first_stage_on_its_stack() -> None:
    profile = read_profile(RAW)
    assert profile.samples == 90
    assert profile.stages == {
        FEED: 30,
        "SQL writes (views, positions)": 8,
        "encode view rows (contacts, history, notes, messages)": 7,
        "fold (reducer apply, snapshots)": 15,
        "decode events (store's mapper, keys)": 12,
        "build indexes": 5,
        STARTUP: 10,
        OTHER: 3,
    }
    shares = dict(profile.shares())
    assert shares[FEED] == pytest.approx(30 / 90)
    assert sum(shares.values()) == pytest.approx(1.0)


def test_the_workers_samples_count_and_are_told_apart_from_the_parents() -> None:
    summary = read_profile(RAW).summary()
    assert summary["processes"] == {"100 (rebuild)": 50, "200 (rebuild_worker)": 40}
    assert summary["threads"] == {
        "100 (rebuild) (100): MainThread": 46,
        "200 (rebuild_worker) (200)": 40,
        "100 (rebuild)": 4,
    }


def test_full_file_names_read_like_short_ones() -> None:
    full = (
        RAW.replace("(projections/", f"({ROOT}projections/")
        .replace("(domain/", f"({ROOT}domain/")
        .replace("(sqlalchemy/", f"(/venv/lib/python3.11/{SITE}sqlalchemy/")
    )
    assert full != RAW
    assert read_profile(full).stages == read_profile(RAW).stages


def figures() -> dict[str, Any]:
    return {
        "backend": "sqlite",
        "events": 20_000,
        "leads": 2_000,
        "build": {"reused": True},
        "rebuild": {
            "events_per_s": 5000.0,
            "events_per_cpu_s": 4000.0,
            "peak_rss_mb": 150.0,
            "tree_peak_rss_mb": 200.0,
            "seconds": 4.0,
            "cpu_seconds": 5.0,
            "processes": 2,
        },
        "raw_read": {
            "read_seconds": 0.2,
            "read_events_per_s": 100_000.0,
            "read_decode_seconds": 0.6,
            "read_decode_events_per_s": 30_000.0,
            "read_decode_cpu_seconds": 0.6,
            "read_decode_events_per_cpu_s": 30_000.0,
        },
        "verify": {"ok": True, "wall_seconds": 5.0, "output": "OK"},
        "ratio_rebuild_to_read_decode": 0.17,
        "cpu_ratio_rebuild_to_read_decode": 0.13,
        "machine": {"nproc": 2, "cpu_model": "test CPU", "python": "3.11.7"},
        "load_average": (1.0, 1.0, 1.0),
    }


def test_the_section_shows_the_stages_and_whose_samples_they_are(tmp_path: Path) -> None:
    profile = tmp_path / "rebuild-sqlite.pyspy.txt"
    profile.write_text(RAW, encoding="utf-8")
    answer = report(figures(), "python -m bench.rebuild --quick", profile)
    markdown = answer["markdown"]
    assert "90 py-spy samples" in markdown
    assert "50 in rebuild, 40 in rebuild_worker" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ") and "%" in line]
    assert table[0] == f"| {FEED} | 33% |"  # the largest stage first
    assert table[-1] == f"| {OTHER} | 3% |"
    assert answer["figures"]["profile_stages"][FEED] == pytest.approx(30 / 90)
    assert answer["figures"]["profile_samples"]["samples"] == 90


def test_a_run_without_a_profile_says_so() -> None:
    answer = report(figures(), "python -m bench.rebuild", None)
    assert "No profile of this run" in answer["markdown"]
    assert answer["figures"]["profile_stages"] == {}


def test_the_missed_rebuild_aim_cites_its_largest_stages_but_not_other(tmp_path: Path) -> None:
    profile = tmp_path / "rebuild-sqlite.pyspy.txt"
    profile.write_text(RAW, encoding="utf-8")
    section = report(figures(), "python -m bench.rebuild", profile)
    rows = issue_aims({"rebuild": section})
    row = next(r for r in rows if r["aim"].startswith("Rebuild 1,000,000"))
    assert row["met"] is False
    assert f"{FEED} 33 %, fold (reducer apply, snapshots) 17 %" in row["why"]
    assert "decode events (store's mapper, keys) 13 %" in row["why"]
    assert "other" not in row["why"]
    # 4,000 events per CPU-second is 250 µs an event; 100,000/s on 2 cores allows 20.
    assert (
        "CPU per event: 250 µs, all processes counted; the rate asks ≤ 20 µs on 2 cores"
        in (row["why"])
    )
    unprofiled = issue_aims({"rebuild": report(figures(), "python -m bench.rebuild", None)})
    assert any("No profile was taken" in r["why"] for r in unprofiled)


@pytest.mark.parametrize("quick", [True, False])
def test_the_suite_profiles_every_rebuild_section(quick: bool) -> None:
    planned = jobs(quick, pg=True)
    rebuilds = [job for job in planned.values() if job[0] == "rebuild"]
    assert len(rebuilds) == (1 if quick else 2)
    assert all("--profile" in job for job in rebuilds)
