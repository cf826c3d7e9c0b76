"""Partitions and their blocks: contiguous, balanced by rows, one per shard at most."""

import pytest

from descent.distributed.partitions import Partitions
from descent.errors import ShapeError


def plan(lengths, shards, known=True):
    parts = Partitions([None] * len(lengths), [None] * len(lengths), None,
                       lengths if known else None)
    return parts.blocks(shards)


def test_blocks_are_contiguous_and_balanced_by_rows():
    assert plan([100, 100, 100, 100], 2) == [[0, 1], [2, 3]]
    assert plan([300, 50, 50, 100], 2) == [[0], [1, 2, 3]]
    assert plan([10] * 5, 3) == [[0, 1], [2], [3, 4]]


def test_every_shard_gets_a_partition_and_no_more_shards_than_partitions():
    assert plan([1000, 1, 1], 3) == [[0], [1], [2]]
    assert plan([5, 5], 4) == [[0], [1]]


def test_unknown_lengths_balance_the_partition_count():
    assert plan([None] * 5, 2, known=False) == [[0, 1], [2, 3, 4]]


def test_unequal_partition_counts_are_refused():
    with pytest.raises(ShapeError, match="X has 2 partitions but y has 3"):
        Partitions([None] * 2, [None] * 3, None)
