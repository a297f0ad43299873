"""Sarah's data merged by the time she said it (`merge_said`, docs/read-models.md): a value
replaces a key's only when it is not older than what the key holds; the times are kept per
key, nested mappings key by key."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from domain.merge import merge_extracted, merge_said, newest

T1, T2, T3 = "2025-11-24T10:00:00", "2025-11-24T11:00:00", "2025-11-24T12:00:00"


def test_the_newest_time_of_a_node() -> None:
    assert newest(T2) == T2
    assert newest({"a": T1, "b": {"c": T3, "d": T2}}) == T3
    assert newest({}) == ""
    assert newest(None) == ""


def test_a_newer_value_replaces_an_older_one_does_not_and_equal_times_take_the_later() -> None:
    data, times = merge_said({}, {}, {"domisili": "Jakarta"}, T2)
    assert (data, times) == ({"domisili": "Jakarta"}, {"domisili": T2})
    assert merge_said(data, times, {"domisili": "Medan"}, T1) == (data, times)
    assert merge_said(data, times, {"domisili": "Bandung"}, T2) == (
        {"domisili": "Bandung"},
        {"domisili": T2},
    )
    assert merge_said(data, times, {"domisili": "Bogor"}, T3) == (
        {"domisili": "Bogor"},
        {"domisili": T3},
    )


def test_blanks_say_nothing_and_a_new_key_is_taken_whatever_its_time() -> None:
    data, times = merge_said({"name": "Budi"}, {"name": T2}, {"name": "", "priority": "high"}, T1)
    assert (data, times) == ({"name": "Budi", "priority": "high"}, {"name": T2, "priority": T1})


def test_mappings_merge_key_by_key_each_with_its_own_time() -> None:
    data, times = merge_said({}, {}, {"usaha": {"jenis": "warung", "kota": "Bandung"}}, T2)
    data, times = merge_said(data, times, {"usaha": {"jenis": "toko", "lama": "2 tahun"}}, T1)
    assert data == {"usaha": {"jenis": "warung", "kota": "Bandung", "lama": "2 tahun"}}
    assert times == {"usaha": {"jenis": T2, "kota": T2, "lama": T1}}
    data, times = merge_said(data, times, {"usaha": {"jenis": "kios"}}, T3)  # per-key times
    assert data == {"usaha": {"jenis": "kios", "kota": "Bandung", "lama": "2 tahun"}}
    assert times == {"usaha": {"jenis": T3, "kota": T2, "lama": T1}}


def test_data_from_before_times_were_kept_gives_way_to_any_report() -> None:
    current = {"usaha": {"jenis": "warung"}, "name": "Budi"}
    data, times = merge_said(current, {}, {"usaha": {"jenis": "toko"}, "name": "Budi S."}, T1)
    assert data == {"usaha": {"jenis": "toko"}, "name": "Budi S."}
    assert times == {"usaha": {"jenis": T1}, "name": T1}


def test_a_mapping_held_under_one_time_is_compared_key_by_key_with_that_time() -> None:
    """A view from before per-key times keeps one time for a whole mapping."""
    current = {"usaha": {"jenis": "warung"}}
    data, times = merge_said(current, {"usaha": T2}, {"usaha": {"jenis": "toko"}}, T1)
    assert data == current
    assert times == {"usaha": {"jenis": T2}}


def test_a_plain_value_meets_a_mapping_by_its_newest_time() -> None:
    current, times = {"usaha": {"jenis": "warung"}}, {"usaha": {"jenis": T2}}
    assert merge_said(current, times, {"usaha": "warung kopi"}, T1) == (current, times)
    assert merge_said(current, times, {"usaha": "warung kopi"}, T3) == (
        {"usaha": "warung kopi"},
        {"usaha": T3},
    )


def test_neither_input_is_changed_and_the_result_shares_nothing_mutable() -> None:
    current, times = {"pain_points": ["stok"]}, {"pain_points": T1}
    update = {"pain_points": ["modal", "stok"], "detail": {"a": ["x"]}}
    data, stamps = merge_said(current, times, update, T2)
    assert (current, times) == ({"pain_points": ["stok"]}, {"pain_points": T1})
    data["pain_points"].append("changed")
    data["detail"]["a"].append("changed")
    assert update == {"pain_points": ["modal", "stok"], "detail": {"a": ["x"]}}
    assert stamps == {"pain_points": T2, "detail": T2}  # a new mapping: one time for it


def test_merge_extracted_shares_nothing_mutable_with_the_update() -> None:
    update = {"pain_points": [["modal"]]}
    merged = merge_extracted({}, update)
    merged["pain_points"][0].append("changed")
    assert update == {"pain_points": [["modal"]]}


def test_merge_said_shares_nothing_mutable_with_what_it_was_given() -> None:
    current = {"usaha": {"cabang": ["Bandung"]}, "pain_points": [["stok"]]}
    times = {"usaha": {"cabang": T1}, "pain_points": T1}
    update = {"pain_points": [["modal"]], "name": "Budi"}
    data, stamps = merge_said(current, times, update, T2)
    data["usaha"]["cabang"].append("changed")
    data["pain_points"][0].append("changed")
    stamps["usaha"]["cabang"] = "changed"
    assert current == {"usaha": {"cabang": ["Bandung"]}, "pain_points": [["stok"]]}
    assert times == {"usaha": {"cabang": T1}, "pain_points": T1}
    assert update == {"pain_points": [["modal"]], "name": "Budi"}


reports = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y", "z"])),
    min_size=1,
    max_size=4,
)


@given(reports)
def test_flat_reports_end_as_their_time_order_whatever_the_arrival_order(
    said: list[dict[str, str]],
) -> None:
    stamped = [(f"2025-11-24T1{n}:00:00", report) for n, report in enumerate(said)]
    results = set()
    for order in itertools.permutations(stamped):
        data: dict[str, object] = {}
        times: dict[str, object] = {}
        for at, report in order:
            data, times = merge_said(data, times, report, at)
        results.add(repr(sorted(data.items())))
    in_time: dict[str, str] = {}
    for _, report in stamped:
        in_time.update(report)
    assert results == {repr(sorted(in_time.items()))}
