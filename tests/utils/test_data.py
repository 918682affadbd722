"""``ember.utils.data``: PyTorch's import path for the datasets and the DataLoader."""
from __future__ import annotations

import numpy as np

import ember
import ember.data


def test_torch_style_imports_reach_ember_data():
    from ember.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split

    assert DataLoader is ember.data.DataLoader and TensorDataset is ember.data.TensorDataset
    assert Dataset is ember.data.Dataset and Subset is ember.data.Subset and random_split is ember.data.random_split
    assert ember.utils.data.DataLoader is DataLoader  # also as an attribute chain, without an import


def test_everyday_pipeline_through_ember_utils_data():
    D = ember.utils.data
    ds = D.TensorDataset(ember.arange(10).float().unsqueeze(1), ember.arange(10))
    train, val = D.random_split(ds, [8, 2])
    batches = list(D.DataLoader(train, batch_size=3, shuffle=True, drop_last=True))
    assert len(batches) == 2 and all(x.shape == (3, 1) and y.dtype == np.int64 for x, y in batches)
    assert len(val) == 2


def test_pytorch_data_names_are_all_there():
    import ember.utils.data as D

    names = ["BatchSampler", "ChainDataset", "ConcatDataset", "IterableDataset", "RandomSampler", "Sampler",
             "SequentialSampler", "SubsetRandomSampler", "WeightedRandomSampler", "default_collate",
             "default_convert", "get_worker_info"]
    for name in names:
        assert getattr(D, name) is getattr(ember.data, name), name
    assert set(names) <= set(D.__all__)
