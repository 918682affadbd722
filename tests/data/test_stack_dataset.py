"""StackDataset: datasets of equal length side by side, samples as tuples or dicts, batched by the DataLoader
(default_collate of dict samples) — against torch.utils.data.StackDataset."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import DataLoader, Dataset, IterableDataset, StackDataset, TensorDataset, default_collate
from ember.utils.data import StackDataset as UtilsStackDataset
from tests.helpers import assert_close


class Words(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return f"w{i}"


class Batched(Words):
    """A dataset that fetches many samples at once (counts its calls)."""

    calls = 0

    def __getitems__(self, indices):
        Batched.calls += 1
        return [self[i] * 2 for i in indices]


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(3))


def _images(n=6):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 2, 3)).astype(np.float32), np.arange(n, dtype=np.int64) % 3


def test_tuple_and_dict_samples():
    x, y = _images()
    assert UtilsStackDataset is StackDataset
    tup = StackDataset(TensorDataset(x), y, Words(6))
    assert len(tup) == 6
    s = tup[4]
    assert isinstance(s, tuple) and len(s) == 3
    assert_close(s[0][0], x[4])
    assert s[1] == y[4] and s[2] == "w4"
    d = StackDataset(image=x, label=y, word=Words(6))
    s = d[2]
    assert list(s) == ["image", "label", "word"]
    assert_close(s["image"], x[2])
    assert s["label"] == 2 and s["word"] == "w2"
    assert isinstance(d.datasets, dict) and isinstance(tup.datasets, tuple)


def test_errors():
    with pytest.raises(ValueError, match="size mismatch.*'b' has 4"):
        StackDataset(a=range(5), b=range(4))
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset(range(5), range(6))
    with pytest.raises(ValueError, match="not both"):
        StackDataset(range(2), b=range(2))
    with pytest.raises(ValueError, match="at least one"):
        StackDataset()
    with pytest.raises(TypeError, match="no length"):
        StackDataset(Stream(), range(3))
    with pytest.raises(IndexError):
        StackDataset(Words(2), Words(2))[5]


def test_getitems_asks_batched_parts_once():
    Batched.calls = 0
    d = StackDataset(a=Batched(5), b=Words(5))
    got = d.__getitems__([4, 0, 2])
    assert got == [{"a": "w4w4", "b": "w4"}, {"a": "w0w0", "b": "w0"}, {"a": "w2w2", "b": "w2"}]
    assert Batched.calls == 1
    assert StackDataset(Words(3), Words(3)).__getitems__([1, 2]) == [("w1", "w1"), ("w2", "w2")]


def test_default_collate_of_dict_samples():
    x, y = _images()
    d = StackDataset(image=x, label=y, word=Words(6))
    batch = default_collate([d[i] for i in (0, 3, 5)])
    assert list(batch) == ["image", "label", "word"]
    assert isinstance(batch["image"], ember.Tensor) and batch["image"].shape == (3, 2, 3)
    assert_close(batch["image"], x[[0, 3, 5]])
    assert batch["label"].dtype == np.int64 and batch["label"].tolist() == [0, 0, 2]
    assert batch["word"] == ["w0", "w3", "w5"]


def test_dataloader_batches_dict_and_tuple_samples():
    x, y = _images(7)
    loader = DataLoader(StackDataset(image=x, label=y), batch_size=3)
    batches = list(loader)
    assert [b["image"].shape[0] for b in batches] == [3, 3, 1]
    assert_close(batches[1]["image"], x[3:6])
    assert batches[2]["label"].tolist() == [y[6]]
    shuffled = DataLoader(StackDataset(TensorDataset(x, y), Words(7)), batch_size=4, shuffle=True)
    seen = []
    for (xb, yb), words in shuffled:
        rows = [int(w[1:]) for w in words]
        assert_close(xb, x[rows])  # the parts stay aligned
        assert yb.tolist() == y[rows].tolist()
        seen += rows
    assert sorted(seen) == list(range(7))


def test_matches_torch(torch):
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import StackDataset as TorchStack

    x, y = _images(5)
    words = [f"w{i}" for i in range(5)]
    ours = StackDataset(image=x, label=y, word=words)
    theirs = TorchStack(image=x, label=y, word=words)
    assert len(ours) == len(theirs)
    for a, b in zip(ours.__getitems__([3, 1]), theirs.__getitems__([3, 1])):
        assert list(a) == list(b) and a["word"] == b["word"] and a["label"] == b["label"]
        assert_close(a["image"], b["image"])
    for a, b in zip(DataLoader(ours, batch_size=2), TorchLoader(theirs, batch_size=2)):
        assert list(a) == list(b)
        assert_close(a["image"], b["image"])
        assert a["label"].tolist() == b["label"].tolist() and a["word"] == b["word"]
    tup_ours, tup_theirs = StackDataset(x, words), TorchStack(x, words)
    assert type(tup_ours[0]) is type(tup_theirs[0]) is tuple
    with pytest.raises(ValueError):
        TorchStack(range(2), range(3))
