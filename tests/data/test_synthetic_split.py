"""Synthetic teaching sets and seeded splits."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import (TensorDataset, holdout_split, make_blobs, make_moons, make_spirals, make_xor, random_split)


@pytest.mark.parametrize("make", [make_xor, make_moons, make_spirals, make_blobs])
def test_seeded_shapes_and_dtypes(make):
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    xa, ya = a.arrays()
    assert xa.dtype == np.float32 and ya.dtype == np.int64 and xa.ndim == 2 and xa.shape[0] == ya.shape[0]
    np.testing.assert_array_equal(xa, b.arrays()[0])
    assert not np.array_equal(xa, c.arrays()[0])
    counts = np.bincount(ya)
    assert counts.max() - counts.min() <= 1  # balanced classes


def test_xor_truth_table_and_not_linearly_separable():
    x, y = make_xor(4, noise=0.0, shuffle=False).arrays()
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    # the best least-squares linear classifier gets at most 3 of 4 right
    x, y = make_xor(400, noise=0.05).arrays()
    design = np.c_[x, np.ones(len(x))]
    w, *_ = np.linalg.lstsq(design, 2.0 * y - 1, rcond=None)
    assert np.mean((design @ w > 0) == y) <= 0.8


def test_spirals_and_blobs_options():
    x, y = make_spirals(300, n_classes=4, noise=0.0).arrays()
    assert set(np.unique(y)) == {0, 1, 2, 3} and np.abs(x).max() <= 1.0 + 1e-6
    x, y = make_blobs(90, centers=np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]]), std=0.1).arrays()
    assert x.shape == (90, 3)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [10, 10, 10], atol=0.1)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        make_xor(0)


def test_random_split_partitions_and_is_seeded():
    ds = TensorDataset(np.arange(100, dtype=np.float32)[:, None], np.arange(100))
    a, b = random_split(ds, [0.8, 0.2], seed=5)
    assert len(a) == 80 and len(b) == 20
    assert sorted(np.r_[a.indices, b.indices].tolist()) == list(range(100))
    a2, _ = random_split(ds, [80, 20], seed=5)
    np.testing.assert_array_equal(a.indices, a2.indices)
    ember.manual_seed(3)
    g1 = random_split(ds, [50, 50])[0].indices
    ember.manual_seed(3)
    np.testing.assert_array_equal(g1, random_split(ds, [50, 50])[0].indices)  # the global generator when unseeded
    np.testing.assert_array_equal(a.arrays()[1], ds.arrays()[1][a.indices])
    assert int(a[0][1].item()) == a.indices[0]
    with pytest.raises(ValueError, match="sum to 99"):
        random_split(ds, [49, 50])
    with pytest.raises(ValueError, match="must sum to 1"):
        random_split(ds, [0.5, 0.2])
    counts = [len(s) for s in random_split(ds, [0.33, 0.33, 0.34], seed=0)]
    assert sum(counts) == 100


def test_holdout_is_stratified_and_fixed():
    y = np.repeat(np.arange(10), 50)
    ds = TensorDataset(np.zeros((500, 2), np.float32), y)
    train, val = holdout_split(ds, 0.1, seed=0)
    assert len(train) == 450 and len(val) == 50
    np.testing.assert_array_equal(np.bincount(val.targets), [5] * 10)
    assert not set(train.indices) & set(val.indices)
    np.testing.assert_array_equal(val.indices, holdout_split(ds, 0.1, seed=0)[1].indices)
    assert not np.array_equal(val.indices, holdout_split(ds, 0.1, seed=1)[1].indices)
    _, plain = holdout_split(ds, 0.2, seed=0, stratify=False)
    assert len(plain) == 100
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        holdout_split(ds, 1.5)


def test_tensor_dataset_checks_lengths():
    with pytest.raises(ValueError, match="share their first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    ds = TensorDataset(ember.tensor(np.ones((3, 2), np.float32)), np.arange(3))
    x, y = ds[1]
    assert isinstance(x, ember.Tensor) and x.shape == (2,) and int(y.item()) == 1
