"""DistributedSampler: the unshuffled assignment equals torch's exactly; shuffled ones follow the same rule applied
to a permutation seeded with seed + epoch; padding, drop_last, set_epoch, defaults, the DataLoader, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import DataLoader, DistributedSampler, TensorDataset
from ember.random import Generator
from ember.utils import data as udata

SIZES = [0, 1, 2, 5, 10, 11, 12, 13]
REPLICAS = [1, 2, 3, 4, 7, 16]


def _rule(order: list[int], replicas: int, rank: int, drop_last: bool) -> list[int]:
    """The assignment written out: cut to a multiple of replicas (drop_last) or pad by cycling the order from its
    start, then every replicas-th entry from rank on."""
    n = len(order)
    if drop_last:
        order = order[:n - n % replicas]
    elif n:
        while len(order) % replicas:
            order = order + order[:replicas - len(order) % replicas]
    return order[rank::replicas]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", REPLICAS)
@pytest.mark.parametrize("n", SIZES)
def test_unshuffled_assignment_matches_torch(torch, n, replicas, drop_last):
    from torch.utils.data import DistributedSampler as TorchDistributedSampler

    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchDistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs), f"n={n} replicas={replicas} rank={rank} drop_last={drop_last}"
        assert len(ours) == len(theirs) == len(list(ours))
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("replicas", [2, 3, 7])
@pytest.mark.parametrize("n", [5, 12, 13])
def test_the_rule_holds_for_torch_shuffled_and_for_ours(torch, n, replicas, drop_last):
    """torch's shuffled assignment is _rule applied to randperm(n) seeded with seed + epoch; ours is the same rule
    applied to ember's permutation from a generator seeded the same way."""
    from torch.utils.data import DistributedSampler as TorchDistributedSampler

    seed, epoch = 5, 3
    torch_perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    g = Generator().manual_seed(seed + epoch)
    ours_perm = ember.random.numpy_rng(g).permutation(n).tolist()
    for rank in range(replicas):
        theirs = TorchDistributedSampler(range(n), replicas, rank, shuffle=True, seed=seed, drop_last=drop_last)
        theirs.set_epoch(epoch)
        assert list(theirs) == _rule(torch_perm, replicas, rank, drop_last)
        ours = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=seed, drop_last=drop_last)
        ours.set_epoch(epoch)
        assert list(ours) == _rule(ours_perm, replicas, rank, drop_last)


@pytest.mark.parametrize("n, replicas", [(12, 3), (12, 4), (20, 5), (7, 7)])
def test_divisible_shuffled_replicas_cover_every_index_once(n, replicas):
    shares = [list(DistributedSampler(range(n), replicas, r, seed=1)) for r in range(replicas)]
    assert all(len(s) == n // replicas for s in shares)
    assert sorted(sum(shares, [])) == list(range(n))
    assert sum(shares, []) != list(range(n))  # shuffled
    assert all(type(i) is int for s in shares for i in s)


def test_padding_and_drop_last():
    shares = [list(DistributedSampler(range(10), 4, r, shuffle=True, seed=2)) for r in range(4)]
    flat = sum(shares, [])
    assert [len(s) for s in shares] == [3, 3, 3, 3]  # ⌈10 / 4⌉ each
    assert set(flat) == set(range(10)) and len(flat) == 12
    counts = np.bincount(flat)
    assert sorted(counts.tolist()) == [1] * 8 + [2] * 2  # two indices repeated to pad
    dropped = [list(DistributedSampler(range(10), 4, r, seed=2, drop_last=True)) for r in range(4)]
    assert [len(s) for s in dropped] == [2] * 4  # ⌊10 / 4⌋ each
    assert len(set(sum(dropped, []))) == 8  # no repeats
    tiny = [list(DistributedSampler(range(2), 5, r, shuffle=False)) for r in range(5)]
    assert tiny == [[0], [1], [0], [1], [0]]  # padding cycles a list shorter than the padding
    assert [list(DistributedSampler(range(2), 5, r, drop_last=True)) for r in range(5)] == [[]] * 5


def test_set_epoch_changes_the_order_deterministically():
    s = DistributedSampler(range(50), 2, 1, seed=7)
    first, again = list(s), list(s)
    assert first == again  # no set_epoch: every pass repeats the order
    s.set_epoch(1)
    second = list(s)
    assert second != first and sorted(second) != second
    other = DistributedSampler(range(50), 2, 1, seed=7)
    other.set_epoch(1)
    assert list(other) == second  # a fresh sampler at the same epoch agrees
    partner = DistributedSampler(range(50), 2, 0, seed=7)
    partner.set_epoch(1)
    assert sorted(list(partner) + second) == list(range(50))  # replicas draw the same permutation
    assert list(DistributedSampler(range(50), 2, 1, seed=8)) != first  # the seed matters
    # seed + epoch is what counts
    shifted = DistributedSampler(range(50), 2, 1, seed=6)
    shifted.set_epoch(2)
    assert list(shifted) == second
    ember.manual_seed(123)  # the global generator plays no part
    assert list(other) == second


def test_single_process_defaults_and_exports():
    s = DistributedSampler(range(9))
    assert (s.num_replicas, s.rank, s.shuffle, s.seed, s.drop_last, s.epoch) == (1, 0, True, 0, False, 0)
    assert sorted(s) == list(range(9)) and len(s) == 9
    assert list(DistributedSampler(range(9), shuffle=False)) == list(range(9))
    assert udata.DistributedSampler is DistributedSampler and "DistributedSampler" in udata.__all__


def test_works_as_a_dataloader_sampler():
    ds = TensorDataset(ember.arange(10))
    sampler = DistributedSampler(ds, num_replicas=3, rank=2, shuffle=False)
    batches = [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=sampler)]
    assert batches == [[2, 5], [8, 1]]  # 2, 5, 8 and the padding's index 1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_replicas=2, rank=2), ValueError, r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
    (dict(num_replicas=2, rank=-1), ValueError, r"Invalid rank -1"),
    (dict(rank=1), ValueError, r"Invalid rank 1, rank should be in the interval \[0, 0\]"),
    (dict(num_replicas=0), ValueError, "num_replicas should be a positive integer value, but got num_replicas=0"),
    (dict(num_replicas=2.0), ValueError, "num_replicas should be a positive integer"),
    (dict(num_replicas=2, rank=1.0), ValueError, "Invalid rank 1.0"),
    (dict(shuffle=1), TypeError, "shuffle should be a boolean value"),
    (dict(drop_last="yes"), TypeError, "drop_last should be a boolean value"),
    (dict(seed=1.5), TypeError, "seed should be an integer"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DistributedSampler(range(4), **kwargs)
    with pytest.raises(TypeError, match="epoch should be an integer"):
        DistributedSampler(range(4)).set_epoch(1.5)
