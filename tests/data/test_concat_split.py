"""ConcatDataset / ChainDataset / ``dataset + dataset`` and random_split with a Generator, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

from ember.data import ChainDataset, ConcatDataset, Dataset, IterableDataset, TensorDataset, random_split
from ember.random import Generator


class Range(Dataset):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __len__(self):
        return self.hi - self.lo

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.lo + i


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def test_concat_indexes_across_parts_like_pytorch(torch):
    from torch.utils.data import ConcatDataset as TorchConcat

    parts = [range(3), range(10, 12), range(20, 24)]
    ours, theirs = ConcatDataset(parts), TorchConcat(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes == [3, 5, 9]
    assert len(ours) == len(theirs) == 9
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]


def test_concat_add_and_errors():
    cat = Range(0, 3) + Range(10, 12)
    assert isinstance(cat, ConcatDataset) and [cat[i] for i in range(5)] == [0, 1, 2, 10, 11]
    assert cat[-1] == 11
    with pytest.raises(IndexError, match="index 5 is out of range for a ConcatDataset of 5"):
        cat[5]
    with pytest.raises(IndexError, match="index -6"):
        cat[-6]
    with pytest.raises(ValueError, match="empty iterable"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="does not support IterableDataset"):
        ConcatDataset([Range(0, 1), Stream([1])])


def test_chain_streams_one_after_another():
    chain = Stream([1, 2]) + Stream([3])
    assert isinstance(chain, ChainDataset) and list(chain) == [1, 2, 3] and len(chain) == 3
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        ChainDataset([Stream([1]), Range(0, 2)])


@pytest.mark.parametrize("lengths", [[0.8, 0.2], [0.33, 0.33, 0.34], [0.5, 0.5], [1 / 3] * 3, [0.7, 0.3, 0.0],
                                     [3, 4], [7, 0]])
def test_split_sizes_match_pytorch(torch, lengths):
    import warnings

    from torch.utils.data import random_split as torch_split

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a zero-length split warns in both
        ours = [len(s) for s in random_split(range(7), lengths, generator=Generator().manual_seed(0))]
        theirs = [len(s) for s in torch_split(range(7), lengths, generator=torch.Generator().manual_seed(0))]
    assert ours == theirs


def test_random_split_follows_its_generator_and_partitions():
    ds = TensorDataset(np.arange(50))
    a = random_split(ds, [0.6, 0.4], generator=Generator().manual_seed(3))
    b = random_split(ds, [0.6, 0.4], generator=Generator().manual_seed(3))
    c = random_split(ds, [0.6, 0.4], generator=Generator().manual_seed(4))
    assert [s.indices.tolist() for s in a] == [s.indices.tolist() for s in b] != [s.indices.tolist() for s in c]
    assert sorted(np.r_[a[0].indices, a[1].indices].tolist()) == list(range(50))
    positional = random_split(ds, [30, 20], Generator().manual_seed(3))  # PyTorch's positional generator
    assert positional[0].indices.tolist() == a[0].indices.tolist()
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(3), [1.0, 0.0])


@pytest.mark.parametrize("call,error,match", [
    (lambda: random_split(range(5), [2, 2]), ValueError, "sum to 4, but the dataset has 5"),
    (lambda: random_split(range(5), [0.5, 0.2]), ValueError, "must sum to 1"),
    (lambda: random_split(range(5), [1.5, -0.5]), ValueError, "non-negative"),
    (lambda: random_split(range(5), [3, 2], generator=7), TypeError, "seed="),
    (lambda: random_split(range(5), [3, 2], generator=Generator(), seed=1), ValueError, "not both"),
])
def test_random_split_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
