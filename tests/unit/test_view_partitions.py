"""Partitions of the live views (projections/tracking.py): every lead in exactly one
partition, the same one however its id is written, and tracking row ids that name their
partition back."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.tracking import MAX_PARTITIONS, Partition, partition_of, partitions

counts = st.integers(min_value=1, max_value=MAX_PARTITIONS)


@given(st.uuids(), counts)
def test_each_lead_is_in_exactly_one_partition(lead: UUID, count: int) -> None:
    owners = [p for p in partitions(count) if p.owns(lead)]
    assert len(owners) == 1
    assert owners[0].index == partition_of(str(lead), count) == partition_of(lead, count)


@given(counts, st.data())
def test_a_tracking_row_names_its_partition(count: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    partition = Partition(index, count)
    assert Partition.of_row(partition.row_id) == partition
    assert (partition.row_id == 1) == (count == 1)


@pytest.mark.parametrize(("index", "count"), [(0, 0), (2, 2), (-1, 3), (0, MAX_PARTITIONS + 1)])
def test_no_such_partition_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="no partition"):
        Partition(index, count)
