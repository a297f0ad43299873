"""The benchmark's own tools: its traffic is what it claims, its profile sums add up."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.webhooks.signatures import matching_workspaces
from bench.baselines import rows_of
from bench.common import quantile
from bench.loadgen import Plan, deliveries
from bench.profiling import summarise
from tests.conftest import examples

SECRET = "s" * 64


def split(wire: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


def test_deliveries_are_signed_sized_and_carry_the_ids_they_claim() -> None:
    plan = Plan("127.0.0.1", 8000, SECRET, "T1", 4, 1.0)
    for delivery in deliveries(plan, 300):
        headers, body = split(delivery.wire)
        assert int(headers["content-length"]) == len(body)
        assert matching_workspaces(headers["x-webhook-signature"], body, [("w", SECRET)]) == {"w"}
        payload = json.loads(body)
        ids = tuple(row[2] for row in rows_of(payload))
        assert ids == delivery.message_ids
        assert (headers.get("x-webhook-batch") == "true") == (len(ids) > 1)


def test_the_mix_has_repeats_and_batches_and_mostly_new_messages() -> None:
    work = deliveries(Plan("127.0.0.1", 8000, SECRET, "T2", 4, 1.0), 2000)
    repeats = len(work) - len({d.wire for d in work})
    batches = sum(len(d.message_ids) > 1 for d in work)
    assert 0.05 * len(work) < repeats < 0.15 * len(work)
    assert 0 < batches < 0.1 * len(work)
    ids = [i for d in {d.wire: d for d in work}.values() for i in d.message_ids]
    assert len(ids) == len(set(ids))  # a repeat is the same delivery, never a new one


def test_levels_never_share_message_ids() -> None:
    one = deliveries(Plan("127.0.0.1", 1, SECRET, "A", 1, 1.0), 200)
    two = deliveries(Plan("127.0.0.1", 1, SECRET, "B", 1, 1.0), 200)
    assert not {i for d in one for i in d.message_ids} & {i for d in two for i in d.message_ids}


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(1, 50)), min_size=1))
@settings(max_examples=examples(0.5))
def test_profile_shares_count_every_sample_once(stacks: list[tuple[str, int]]) -> None:
    raw = "\n".join(
        f"main (/x/site-packages/lib{name}/m.py:1);leaf{name} (/x/app.py:2) {count}"
        for name, count in stacks
    )
    summary = summarise(raw)
    assert summary["samples"] == sum(count for _, count in stacks)
    assert abs(sum(pct for _, pct in summary["libraries"]) - 100) < 0.1 * len(stacks) + 0.5


@given(st.lists(st.floats(0, 1e6), min_size=1), st.floats(0.01, 1.0))
def test_quantile_is_a_value_and_splits_the_sample(values: list[float], q: float) -> None:
    ordered = sorted(values)
    found = quantile(ordered, q)
    assert found in ordered
    assert sum(v <= found for v in ordered) >= q * len(ordered)


def test_profile_frames_are_shown_relative_to_this_checkout_wherever_it_is() -> None:
    from bench.profiling import ROOT, category, short

    frame = f"decide ({ROOT}domain/policy.py:120)"
    assert short(frame) == "decide (domain/policy.py)"
    assert category(frame) == "leadledger domain/"
    assert category("decide (/elsewhere/domain/policy.py:1)") is None
