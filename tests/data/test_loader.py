"""DataLoader: vectorised batching, determinism independent of workers, exact resume, prefetch."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember.data import (Compose, DataLoader, ImageArrayDataset, Mixup, RandomCrop, RandomHorizontalFlip, Subset,
                        TensorDataset, holdout_split)


class NoGetItem(ImageArrayDataset):
    """An in-memory image set whose __getitem__ must never run on the vectorised path."""

    def __getitem__(self, index):
        raise AssertionError("the loader used the per-sample path")


def images(n=50, c=1, hw=6, seed=0):
    rng = np.random.default_rng(seed)
    return NoGetItem(rng.integers(0, 256, (n, c, hw, hw), dtype=np.uint8), np.arange(n) % 10,
                     classes=[str(i) for i in range(10)])


def collect(loader, epochs=1):
    out = []
    for _ in range(epochs):
        out += [tuple(t.array.copy() for t in batch) for batch in loader]
    return out


def same(a, b):
    return len(a) == len(b) and all(all(np.array_equal(p, q) for p, q in zip(x, y)) for x, y in zip(a, b))


def test_batches_are_nchw_float32_in_unit_range_and_int64_labels():
    ds = images()
    loader = DataLoader(ds, batch_size=16)
    batches = list(loader)
    assert len(loader) == 4 and [len(b[0]) for b in batches] == [16, 16, 16, 2]
    x, y = batches[0]
    assert isinstance(x, ember.Tensor) and x.shape == (16, 1, 6, 6) and x.dtype == np.float32
    assert y.dtype == np.int64 and 0.0 <= x.array.min() and x.array.max() <= 1.0
    np.testing.assert_allclose(x.array, ds.data[:16] / 255.0, rtol=1e-6)  # unshuffled: in order
    assert len(DataLoader(ds, batch_size=16, drop_last=True)) == 3
    assert [len(b[0]) for b in DataLoader(ds, batch_size=16, drop_last=True)] == [16, 16, 16]


def test_shuffle_covers_everything_once_and_is_seeded():
    ds = images()
    a = collect(DataLoader(ds, batch_size=8, shuffle=True, seed=7))
    b = collect(DataLoader(ds, batch_size=8, shuffle=True, seed=7))
    c = collect(DataLoader(ds, batch_size=8, shuffle=True, seed=8))
    assert same(a, b) and not same(a, c)
    seen = np.concatenate([x for x, _ in a]).reshape(50, -1)
    assert sorted(map(bytes, (seen * 255).round().astype(np.uint8))) == sorted(map(bytes, ds.data.reshape(50, -1)))
    loader = DataLoader(ds, batch_size=50, shuffle=True, seed=7)
    e0, e1 = collect(loader, 2)
    assert not np.array_equal(e0[1], e1[1])  # a new order each epoch


def test_seed_none_follows_manual_seed():
    ember.manual_seed(11)
    a = collect(DataLoader(images(), batch_size=10, shuffle=True))
    ember.manual_seed(11)
    b = collect(DataLoader(images(), batch_size=10, shuffle=True))
    assert same(a, b)


AUG = Compose([RandomHorizontalFlip(), RandomCrop(padding=2)])


@pytest.mark.parametrize("workers", [1, 3])
def test_independent_of_num_workers_with_augmentation(workers):
    ds = images()
    ref = collect(DataLoader(ds, batch_size=7, shuffle=True, seed=1, transform=AUG), epochs=2)
    got = collect(DataLoader(ds, batch_size=7, shuffle=True, seed=1, transform=AUG, num_workers=workers,
                             prefetch=3), epochs=2)
    assert same(ref, got)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("stop_after", [0, 3, 7, 8, 17])
def test_resume_gives_the_same_batch_sequence(workers, stop_after):
    ds = images(n=30)
    make = lambda seed: DataLoader(ds, batch_size=4, shuffle=True, seed=seed, transform=AUG,  # noqa: E731
                                   num_workers=workers)
    reference = collect(make(5), epochs=3)  # 8 batches per epoch, 24 in all
    loader = make(5)
    got, state = [], (loader.state_dict() if stop_after == 0 else None)
    while state is None:
        for batch in loader:
            got.append(tuple(t.array.copy() for t in batch))  # the training step used this batch
            if len(got) == stop_after:
                state = loader.state_dict()  # ...then the checkpoint was written
                break
    resumed = make(999)  # a fresh loader in a "new process": the seed comes from the state
    resumed.load_state_dict(state)
    while len(got) < len(reference):
        got += collect(resumed)
    assert same(reference, got)


def test_state_after_full_epoch_points_to_next_epoch():
    loader = DataLoader(images(n=10), batch_size=5, shuffle=True, seed=0)
    it = iter(loader)
    next(it), next(it)
    state = loader.state_dict()
    assert (state["epoch"], state["position"]) == (1, 0)
    assert loader.state_dict()["seed"] == 0


def test_abandoned_epoch_moves_on_and_set_epoch():
    loader = DataLoader(images(n=20), batch_size=5, shuffle=True, seed=0)
    first = next(iter(loader))[0].data
    second = next(iter(loader))[0].data  # a new iteration without resume starts the next epoch
    assert loader.epoch == 1 and not np.array_equal(first, second)
    loader.set_epoch(0)
    np.testing.assert_array_equal(next(iter(loader))[0].data, first)


def test_load_state_dict_rejects_a_different_setup():
    state = DataLoader(images(n=20), batch_size=5).state_dict()
    with pytest.raises(ValueError, match="batch_size=5 but this loader has batch_size=4"):
        DataLoader(images(n=20), batch_size=4).load_state_dict(state)
    with pytest.raises(ValueError, match="dataset_size=20 but this loader has dataset_size=21"):
        DataLoader(images(n=21), batch_size=5).load_state_dict(state)
    with pytest.raises(KeyError, match="lacks seed"):
        DataLoader(images(n=20), batch_size=5).load_state_dict({"epoch": 0, "position": 0})


def test_subset_batches_from_parent_arrays():
    ds = images(n=40)
    train, val = holdout_split(ds, 0.25, seed=0)
    x, y = next(iter(DataLoader(val, batch_size=len(val))))
    np.testing.assert_array_equal(y.array, ds.targets[val.indices])
    nested = Subset(val, [3, 1])
    x, y = next(iter(DataLoader(nested, batch_size=2)))
    np.testing.assert_array_equal(y.array, ds.targets[val.indices[[3, 1]]])


def test_per_sample_transform_uses_getitem():
    data = np.random.default_rng(0).integers(0, 256, (9, 1, 4, 4), dtype=np.uint8)
    calls = []
    ds = ImageArrayDataset(data, np.arange(9), transform=lambda im: calls.append(1) or im * 2)
    x, y = next(iter(DataLoader(ds, batch_size=9)))
    assert len(calls) == 9
    np.testing.assert_allclose(x.array, data / 255.0 * 2, rtol=1e-6)


def test_tensor_dataset_features_and_mixup_soft_labels():
    ds = TensorDataset(np.random.default_rng(0).standard_normal((12, 3)), np.arange(12) % 3)
    x, y = next(iter(DataLoader(ds, batch_size=12)))
    assert x.dtype == np.float32 and y.dtype == np.int64
    x, y = next(iter(DataLoader(images(), batch_size=10, transform=Mixup(0.4, num_classes=10), seed=0)))
    assert y.shape == (10, 10) and y.dtype == np.float32
    np.testing.assert_allclose(y.array.sum(axis=1), 1.0, rtol=1e-6)


def test_prefetch_runs_in_a_background_thread_and_errors_propagate():
    threads = set()

    def spy(x):
        threads.add(threading.get_ident())
        return x

    list(DataLoader(images(), batch_size=10, transform=spy, num_workers=1))
    assert threading.get_ident() not in threads and len(threads) == 1

    def boom(x):
        raise RuntimeError("bad batch")

    with pytest.raises(RuntimeError, match="bad batch"):
        list(DataLoader(images(), batch_size=10, transform=boom, num_workers=2))


def test_argument_validation():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(images(), batch_size=0)
    with pytest.raises(ValueError, match="num_workers must be an integer >= 0"):
        DataLoader(images(), num_workers=-1)
    with pytest.raises(TypeError, match="transform must be callable"):
        DataLoader(images(), transform="flip")


def test_pin_memory_is_accepted_and_changes_nothing():
    ds = TensorDataset(np.arange(6, dtype=np.float32)[:, None], np.arange(6))
    plain = [y.tolist() for _, y in DataLoader(ds, batch_size=4, seed=1)]
    pinned = [y.tolist() for _, y in DataLoader(ds, batch_size=4, seed=1, pin_memory=True)]
    assert plain == pinned == [[0, 1, 2, 3], [4, 5]]


def test_random_per_sample_transforms_do_not_depend_on_the_worker_count():
    """Each batch's samples draw from the batch's own stream (from seed, epoch, batch): threads cannot reorder it."""
    import ember.random as erandom

    class Noisy(ember.data.Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            return np.float32(i) + erandom.generator().standard_normal(3).astype(np.float32), i

    def epoch(workers):
        loader = ember.data.DataLoader(Noisy(), batch_size=4, shuffle=True, seed=7, num_workers=workers)
        return [x.numpy().copy() for x, _ in loader]

    serial, threaded = epoch(0), epoch(3)
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded)) and len(serial) == 10
    assert not np.array_equal(serial[0], epoch(0)[1])  # the draws differ between batches
