"""Samplers: the indices they give, their lengths, reproducibility through generators, and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                        WeightedRandomSampler)
from ember.random import Generator


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5


def test_random_sampler_is_a_permutation_per_pass_and_follows_its_generator():
    s = RandomSampler(range(20), generator=Generator().manual_seed(1))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(20)) and a != b  # a new order every pass
    again = RandomSampler(range(20), generator=Generator().manual_seed(1))
    assert list(again) == a and list(again) == b
    ember.manual_seed(3)
    c = list(RandomSampler(range(20)))
    ember.manual_seed(3)
    assert list(RandomSampler(range(20))) == c  # without a generator: the global one fixes it
    assert all(type(i) is int for i in c)


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(range(4), num_samples=10, generator=Generator().manual_seed(0))
    drawn = list(s)
    assert len(s) == 10 and len(drawn) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]  # whole permutations, then part of one
    s = RandomSampler(range(3), replacement=True, num_samples=300, generator=Generator().manual_seed(0))
    drawn = np.array(list(s))
    assert len(drawn) == 300 and set(drawn.tolist()) == {0, 1, 2}
    assert np.bincount(drawn).min() > 60


def test_subset_random_sampler_permutes_the_given_indices():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=Generator().manual_seed(0))
    assert len(s) == 4 and sorted(s) == [10, 20, 30, 40]
    assert sorted(SubsetRandomSampler(ember.tensor([5, 6]))) == [5, 6]


def test_weighted_sampler_rebalances_classes():
    labels = np.array([0] * 90 + [1] * 10)
    weights = 1.0 / np.bincount(labels)[labels]
    s = WeightedRandomSampler(weights, num_samples=4000, generator=Generator().manual_seed(0))
    drawn = np.array(list(s))
    assert len(s) == len(drawn) == 4000
    share = (labels[drawn] == 1).mean()
    assert 0.45 < share < 0.55  # 10% of the data, half of the draws
    zero = WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 50, generator=Generator().manual_seed(0))
    assert set(zero) <= {1, 3}
    once = list(WeightedRandomSampler([1.0, 1.0, 5.0], 3, replacement=False, generator=Generator()))
    assert sorted(once) == [0, 1, 2]


def test_batch_sampler_groups_indices_like_pytorch():
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    assert len(BatchSampler(range(9), 3, True)) == 3 and list(BatchSampler(range(9), 3, True))[-1] == [6, 7, 8]


def test_batch_sampler_matches_pytorch(torch):
    from torch.utils.data import BatchSampler as TorchBatchSampler

    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)]:
        ours, theirs = BatchSampler(range(n), bs, drop), TorchBatchSampler(range(n), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("make,error,match", [
    (lambda: RandomSampler(range(3), replacement=1), TypeError, "replacement should be a boolean"),
    (lambda: RandomSampler(range(3), num_samples=0), ValueError, "num_samples should be a positive integer"),
    (lambda: RandomSampler([]), ValueError, "dataset is empty"),
    (lambda: RandomSampler(range(3), generator=42), TypeError, "ember.Generator"),
    (lambda: WeightedRandomSampler([1.0, 2.0], 0), ValueError, "num_samples"),
    (lambda: WeightedRandomSampler([[1.0, 2.0]], 1), ValueError, "1d sequence"),
    (lambda: WeightedRandomSampler([1.0, -2.0], 1), ValueError, "non-negative"),
    (lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), ValueError, "without replacement"),
    (lambda: BatchSampler(range(3), 0, False), ValueError, "batch_size should be a positive integer"),
    (lambda: BatchSampler(range(3), 2, drop_last=None), ValueError, "drop_last should be a boolean"),
])
def test_bad_arguments_are_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
