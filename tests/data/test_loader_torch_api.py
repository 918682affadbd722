"""DataLoader with PyTorch's arguments: collate_fn, batch_size=None, samplers, iterable datasets, workers, len().

Where the order is deterministic (sequential, or a sampler that lists its indices) the batches
must be exactly PyTorch's — structure, values and dtypes.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, ImageArrayDataset, IterableDataset,
                        RandomSampler, SequentialSampler, Subset, TensorDataset, WeightedRandomSampler,
                        get_worker_info)
from ember.random import Generator

from .test_collate import plain


def make_records(base):
    """A map-style dataset of dict samples (float64 features, a Python float target, an int, a string)."""

    class Records(base):
        def __init__(self, n=7):
            self.x = np.random.default_rng(0).standard_normal((n, 3))

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "target": float(self.x[i].sum()), "id": int(i), "name": f"r{i}"}

    return Records()


def make_pairs(base):
    """(uint8 image, int label) tuples from __getitem__: PyTorch keeps the uint8."""

    class Pairs(base):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.full((1, 2, 2), i * 10, np.uint8), i % 3

    return Pairs()


def make_stream(base, n=7):
    class Stream(base):
        def __iter__(self):
            for i in range(n):
                yield np.float32(i), i

        def __len__(self):
            return n

    return Stream()


class Listed:
    """A sampler that is just a fixed list of indices (so both frameworks read the same order)."""

    def __init__(self, indices):
        self.indices = indices

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


def pair_lists(batch):
    return [(x[0].item(), int(y)) for x, y in zip(*batch)] if isinstance(batch, list) else batch


# Each config: (dataset maker, loader options). Options may be callables of the framework's data module.
CONFIGS = {
    "default_collate_dicts": (make_records, dict(batch_size=3)),
    "default_collate_uint8_tuples": (make_pairs, dict(batch_size=4)),
    "drop_last": (make_pairs, dict(batch_size=4, drop_last=True)),
    "no_batching_converts_samples": (make_records, dict(batch_size=None)),
    "no_batching_tuples": (make_pairs, dict(batch_size=None)),
    "collate_fn_gets_the_sample_list": (make_pairs, dict(batch_size=4, collate_fn=lambda s: (len(s), s[0][1]))),
    "sampler": (make_pairs, dict(batch_size=2, sampler=lambda D: Listed([5, 0, 3, 3, 1]))),
    "sampler_drop_last": (make_pairs, dict(batch_size=2, drop_last=True, sampler=lambda D: Listed([5, 0, 3]))),
    "sampler_without_batching": (make_pairs, dict(batch_size=None, sampler=lambda D: Listed([4, 2]))),
    "batch_sampler": (make_pairs, dict(batch_sampler=lambda D: [[0, 1, 2], [5], [4, 3]])),
    "batch_sampler_class": (make_pairs, dict(batch_sampler=lambda D: D.BatchSampler(
        D.SequentialSampler(range(6)), 4, False))),
    "iterable": (make_stream, dict(batch_size=3)),
    "iterable_drop_last": (make_stream, dict(batch_size=3, drop_last=True)),
    "iterable_no_batching": (make_stream, dict(batch_size=None)),
}


def build(lib_data, config):
    make, opts = CONFIGS[config]
    base = IterableDataset if make is make_stream else Dataset
    if lib_data is not None:
        base = lib_data.IterableDataset if make is make_stream else lib_data.Dataset
    opts = {k: (v(lib_data or ember.data) if k in ("sampler", "batch_sampler") and callable(v)
                and not isinstance(v, type) else v) for k, v in opts.items()}
    return make(base), opts


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_batches_and_len_match_pytorch(torch, config):
    ds, opts = build(None, config)
    ours = DataLoader(ds, **opts)
    tds, topts = build(torch.utils.data, config)
    theirs = torch.utils.data.DataLoader(tds, **topts)
    got, expected = [plain(b) for b in ours], [plain(b) for b in theirs]
    assert got == expected
    assert len(ours) == len(theirs) == len(got)


@pytest.mark.parametrize("workers", [0, 2])
def test_own_order_len_for_every_combination(workers):
    ds = make_pairs(Dataset)
    for opts, n in [(dict(batch_size=4), 2), (dict(batch_size=4, drop_last=True), 1), (dict(batch_size=None), 6),
                    (dict(batch_size=6, shuffle=True), 1), (dict(batch_size=None, shuffle=True), 6),
                    (dict(sampler=RandomSampler(ds, num_samples=9), batch_size=2), 5),
                    (dict(sampler=RandomSampler(ds, num_samples=9), batch_size=2, drop_last=True), 4),
                    (dict(batch_sampler=BatchSampler(SequentialSampler(ds), 5, False)), 2)]:
        loader = DataLoader(ds, num_workers=workers, **opts)
        assert len(loader) == n == len(list(loader)), opts


def test_shuffle_without_batching_yields_every_sample_once():
    loader = DataLoader(make_pairs(Dataset), batch_size=None, shuffle=True, seed=3)
    labels = [int(x.array[0, 0, 0]) // 10 for x, _ in loader]
    assert sorted(labels) == list(range(6)) and labels != list(range(6))


def test_sampler_keeps_the_vectorised_path_for_in_memory_data():
    class NoGetItem(ImageArrayDataset):
        def __getitem__(self, index):
            raise AssertionError("the loader used the per-sample path")

    data = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    ds = NoGetItem(data, np.arange(10))
    x, y = next(iter(DataLoader(ds, batch_size=3, sampler=Listed([9, 0, 4]))))
    assert y.tolist() == [9, 0, 4] and x.dtype == np.float32
    np.testing.assert_allclose(x.array.ravel(), np.array([9, 0, 4]) / 255, rtol=1e-6)
    weights = np.where(np.arange(10) < 5, 1.0, 0.0)
    sampler = WeightedRandomSampler(weights, 40, generator=Generator().manual_seed(0))
    labels = np.concatenate([y.array for _, y in DataLoader(ds, batch_size=8, sampler=sampler)])
    assert labels.size == 40 and labels.max() < 5


def test_concat_of_in_memory_sets_batches_without_getitem():
    class NoGetItem(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the loader used the per-sample path")

    a = NoGetItem(np.arange(4, dtype=np.float32)[:, None], np.arange(4))
    b = NoGetItem(np.arange(10, 13, dtype=np.float32)[:, None], np.arange(10, 13))
    cat = ConcatDataset([a, b])
    ys = [y.tolist() for _, y in DataLoader(cat, batch_size=3)]
    assert ys == [[0, 1, 2], [3, 10, 11], [12]]
    shuffled = np.concatenate([y.array for _, y in DataLoader(Subset(cat, [6, 0, 4]), batch_size=3, shuffle=True)])
    assert sorted(shuffled.tolist()) == [0, 10, 12]
    x, y = next(iter(DataLoader(cat, batch_size=7, sampler=Listed([5, 1, 6, 0]))))
    assert y.tolist() == [11, 1, 12, 0] and x.array.ravel().tolist() == [11.0, 1.0, 12.0, 0.0]


def test_generator_fixes_the_seed_and_the_order():
    ds = TensorDataset(np.arange(20))
    run = lambda g: [b[0].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True, generator=g)]  # noqa: E731
    assert run(Generator().manual_seed(4)) == run(Generator().manual_seed(4))
    assert run(Generator().manual_seed(4)) != run(Generator().manual_seed(5))


def test_own_shuffle_is_visible_as_the_loader_sampler():
    ds = TensorDataset(np.arange(12))
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=1)
    assert len(loader.sampler) == 12 and isinstance(loader.batch_sampler, BatchSampler)
    expected = list(loader.sampler)
    assert [i for b in loader for i in b[0].tolist()] == expected
    assert isinstance(DataLoader(ds).sampler, SequentialSampler)


def test_transform_applies_on_the_per_sample_path_and_keeps_the_rest():
    loader = DataLoader(make_pairs(Dataset), batch_size=3, transform=lambda x: x + 1)
    x, y = next(iter(loader))
    assert x.array[:, 0, 0, 0].tolist() == [1, 11, 21] and y.tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="transform= needs batches of tensors"):
        next(iter(DataLoader(make_records(Dataset), batch_size=3, transform=lambda x: x)))


def test_worker_threads_run_worker_init_fn_and_know_their_id():
    seen = {}
    lock = threading.Lock()

    def init(worker_id):
        with lock:
            seen[threading.get_ident()] = worker_id

    class Spy(Dataset):
        def __len__(self):
            return 24

        def __getitem__(self, i):
            info = get_worker_info()
            assert info is not None and info.dataset is ds and info.num_workers == 3
            assert seen[threading.get_ident()] == info.id
            return np.float32(i)

    ds = Spy()
    out = [b.tolist() for b in DataLoader(ds, batch_size=4, num_workers=3, worker_init_fn=init)]
    assert out == [list(range(i, i + 4)) for i in range(0, 24, 4)]
    assert sorted(seen.values()) == list(range(len(seen))) and 1 <= len(seen) <= 3
    assert get_worker_info() is None  # in the main thread


def test_persistent_workers_keep_their_threads_between_epochs():
    calls = []
    loader = DataLoader(TensorDataset(np.arange(8)), batch_size=2, num_workers=1, persistent_workers=True,
                        worker_init_fn=calls.append)
    for _ in range(3):
        assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert calls == [0]
    calls.clear()
    loader = DataLoader(TensorDataset(np.arange(8)), batch_size=2, num_workers=1, worker_init_fn=calls.append)
    for _ in range(3):
        list(loader)
    assert calls == [0, 0, 0]


def test_timeout_raises_when_a_worker_is_stuck():
    release = threading.Event()

    class Slow(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            release.wait(5)
            return np.float32(i)

    try:
        with pytest.raises(RuntimeError, match="timed out after 0.05 seconds"):
            list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.05))
    finally:
        release.set()


def test_iterable_dataset_resume_skips_the_batches_already_seen():
    loader = DataLoader(make_stream(IterableDataset, 10), batch_size=3)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    resumed = DataLoader(make_stream(IterableDataset, 10), batch_size=3)
    resumed.load_state_dict(state)
    assert [b[1].tolist() for b in resumed] == [[3, 4, 5], [6, 7, 8], [9]]


def test_an_unsized_stream_has_no_len():
    class Endless(IterableDataset):
        def __iter__(self):
            i = 0
            while True:
                yield i
                i += 1

    loader = DataLoader(Endless(), batch_size=4)
    with pytest.raises(TypeError):
        len(loader)
    it = iter(loader)
    assert next(it).tolist() == [0, 1, 2, 3] and next(it).tolist() == [4, 5, 6, 7]
    assert loader.state_dict()["position"] == 2


@pytest.mark.parametrize("make,match", [
    (lambda ds: DataLoader(ds, sampler=Listed([0]), shuffle=True), "mutually exclusive with shuffle"),
    (lambda ds: DataLoader(ds, batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (lambda ds: DataLoader(ds, batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (lambda ds: DataLoader(ds, batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (lambda ds: DataLoader(ds, prefetch_factor=2), "num_workers > 0"),
    (lambda ds: DataLoader(ds, persistent_workers=True), "needs num_workers > 0"),
    (lambda ds: DataLoader(ds, timeout=-1), "timeout must be"),
    (lambda ds: DataLoader(ds, batch_size=2.5), "batch_size must be a positive integer or None"),
    (lambda ds: DataLoader(ds, collate_fn=lambda s: s, transform=lambda x: x), "apply it in collate_fn"),
    (lambda ds: DataLoader(make_stream(IterableDataset), shuffle=True), "IterableDataset: expected unspecified shuffle"),
    (lambda ds: DataLoader(make_stream(IterableDataset), sampler=Listed([0])), "unspecified sampler"),
    (lambda ds: DataLoader(ds, generator=7), "ember.Generator"),
    (lambda ds: DataLoader(ds, collate_fn="stack"), "collate_fn must be callable"),
    (lambda ds: DataLoader(ds, worker_init_fn=3), "worker_init_fn must be callable"),
])
def test_inconsistent_options_are_clear_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make(make_pairs(Dataset))


def test_pytorch_style_prefetch_factor_with_workers():
    loader = DataLoader(TensorDataset(np.arange(9)), batch_size=2, num_workers=2, prefetch_factor=1)
    assert loader.prefetch_factor == 1 and [b[0].tolist() for b in loader][-1] == [8]
    assert DataLoader(TensorDataset(np.arange(9)), num_workers=1).prefetch_factor == 2
    assert DataLoader(TensorDataset(np.arange(9))).prefetch_factor is None
