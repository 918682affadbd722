"""DataLoader: mini-batches of ember Tensors, vectorised, prefetched, reproducible and resumable.

How a batch is made
    In-memory datasets (those with ``arrays()`` and no per-sample ``transform``; Subsets of them
    too) are batched by one fancy index per array: ``x[order[i:i+B]]``. Anything else is read
    sample by sample through ``dataset[i]`` and stacked. Then every field is converted — uint8
    pixels to float32 in [0, 1] (``x / 255``), other floats to float32, integers to int64 — and
    the batch ``transform`` (augmentation, preprocessing; see :mod:`ember.data.augment`) is
    applied to the first field (images), or to (images, labels) for label-mixing transforms such
    as mixup. Image batches come out NCHW float32 in [0, 1] (before the transform), labels int64.

Determinism
    Every random choice derives from ``seed`` through NumPy's SeedSequence: epoch ``e``'s order
    is ``permutation(n)`` under spawn key ``(e, 0)``, and batch ``b``'s transform gets its own
    Generator under spawn key ``(e, 1, b)``. So the batches depend only on (seed, epoch, batch
    index) — never on ``num_workers``, thread timing, or how many batches were prefetched. With
    ``seed=None`` the seed is drawn once from ember's global generator, so ``ember.manual_seed``
    fixes it. (A random *per-sample* dataset transform draws from ember's global generator
    instead, so it is reproducible only with ``num_workers=0``; put random augmentation in the
    loader's batch ``transform``.)

Resume
    ``state_dict()`` records (seed, epoch, position = batches handed out in the current epoch);
    a loader given that state by ``load_state_dict`` continues with exactly the batches an
    uninterrupted loader would have produced next.

Prefetch
    With ``num_workers > 0``, that many background threads prepare up to
    ``num_workers * prefetch`` batches ahead while the training step runs (NumPy's copies and
    Pillow's decoding release the GIL), and batches are still handed out in order.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

import ember.random as erandom
from ember.data.augment import apply_transform
from ember.data.dataset import Subset, to_float
from ember.tensor import Tensor


def _convert(field) -> np.ndarray:
    """One batch field to its loader dtype: uint8 -> float32/255, float -> float32, int -> int64."""
    a = field.array if isinstance(field, Tensor) else np.asarray(field)
    if a.dtype == np.uint8 or a.dtype.kind == "f":
        return to_float(a)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    return a


def _collate(samples: list) -> list[np.ndarray]:
    """Stack per-sample tuples ``(image, label, ...)`` field by field."""
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        return [np.stack([_as_np(s) for s in samples])]
    width = len(first)
    if any(len(s) != width for s in samples):
        raise ValueError("dataset samples have different numbers of fields; cannot batch them")
    return [np.stack([_as_np(s[k]) for s in samples]) for k in range(width)]


def _as_np(x):
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def _array_source(dataset):
    """``(arrays, index_map)`` when batches can be cut from whole arrays, else None.

    Subsets are unwrapped into a composed index map, so a validation hold-out still batches by
    fancy indexing into the parent's arrays (no copy of the subset).
    """
    index_map = None
    ds = dataset
    while isinstance(ds, Subset):
        index_map = ds.indices if index_map is None else ds.indices[index_map]
        ds = ds.dataset
    if getattr(ds, "transform", None) is not None or not hasattr(ds, "arrays"):
        return None
    if hasattr(ds, "has_arrays") and not ds.has_arrays():
        return None
    arrays = ds.arrays()
    return (tuple(arrays) if isinstance(arrays, (tuple, list)) else (arrays,)), index_map


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of ember Tensors.

    Parameters
    ----------
    dataset: a dataset (``__len__``/``__getitem__``; ``arrays()`` for the vectorised path).
    batch_size: samples per batch (the last one is smaller unless ``drop_last``).
    shuffle: a new random order every epoch (from ``seed`` and the epoch number).
    drop_last: drop the final incomplete batch.
    transform: a batch transform on NCHW float32 arrays (augmentation or preprocessing); it is
        given the batch's own ``rng`` when it takes one.
    seed: the root of all randomness (order and augmentation); None draws one from ember's
        global generator.
    num_workers: background threads preparing batches (0: prepare in the calling thread).
    prefetch: batches each worker keeps ready ahead.
    pin_memory: accepted for PyTorch code and ignored (ember runs on the CPU: there is no device to copy to).
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 transform=None, seed: int | None = None, num_workers: int = 0, prefetch: int = 2,
                 pin_memory: bool = False):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if not isinstance(prefetch, (int, np.integer)) or prefetch < 1:
            raise ValueError(f"prefetch must be a positive integer, got {prefetch!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.num_workers = int(num_workers)
        self.prefetch = int(prefetch)
        self.seed = int(seed) if seed is not None else int(erandom.generator().integers(0, 2**63 - 1))
        self._epoch = 0
        self._position = 0
        self._in_epoch = False
        self._resume = False
        self._iter_id = 0

    # ------------------------------------------------------------------ sizes and order
    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """The epoch the current (or next) iteration runs."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration start epoch ``epoch`` from its first batch."""
        self._epoch, self._position, self._in_epoch, self._resume = int(epoch), 0, False, False

    def _seq(self, *key: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch``: a permutation from (seed, epoch) when shuffling, else 0..n-1."""
        n = len(self.dataset)
        return self._seq(epoch, 0).permutation(n) if self.shuffle else np.arange(n)

    def batch_rng(self, epoch: int, batch: int) -> np.random.Generator:
        """The generator batch ``batch`` of ``epoch`` hands its transform."""
        return self._seq(epoch, 1, batch)

    # ------------------------------------------------------------------ iteration
    def __iter__(self):
        if self._resume:
            start, self._resume = self._position, False
        else:
            if self._in_epoch:  # the previous iteration was abandoned mid-epoch: move on
                self._epoch += 1
            start = 0
        self._position, self._in_epoch = start, True
        self._iter_id += 1
        return self._run(self._iter_id, self._epoch, start)

    def _run(self, iter_id: int, epoch: int, start: int):
        order = self.order(epoch)
        source = _array_source(self.dataset)
        count = len(self)
        bs = self.batch_size

        def make(b: int):
            return self._make_batch(order[b * bs:(b + 1) * bs], source, self.batch_rng(epoch, b))

        if self.num_workers == 0:
            for b in range(start, count):
                batch = make(b)
                if iter_id == self._iter_id:
                    self._position = b + 1
                yield batch
        else:
            pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="ember-loader")
            try:
                ahead = self.num_workers * self.prefetch
                pending = {}
                for b in range(start, count):
                    for j in range(b, min(b + ahead, count)):
                        if j not in pending:
                            pending[j] = pool.submit(make, j)
                    batch = pending.pop(b).result()
                    if iter_id == self._iter_id:
                        self._position = b + 1
                    yield batch
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        if iter_id == self._iter_id:
            self._epoch, self._position, self._in_epoch = epoch + 1, 0, False

    def _make_batch(self, indices: np.ndarray, source, rng: np.random.Generator) -> tuple:
        if source is not None:
            arrays, index_map = source
            rows = index_map[indices] if index_map is not None else indices
            fields = [a[rows] for a in arrays]
        else:
            fields = _collate([self.dataset[int(i)] for i in indices])
        fields = [_convert(f) for f in fields]
        if self.transform is not None:
            if len(fields) >= 2:
                fields[0], fields[1] = apply_transform(self.transform, fields[0], fields[1], rng)
            else:
                fields[0], _ = apply_transform(self.transform, fields[0], None, rng)
        return tuple(Tensor._wrap(np.ascontiguousarray(f)) for f in fields)

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict[str, Any]:
        """Plain data that pins the loader's place: seed, epoch, position and the batching setup."""
        epoch, position = self._epoch, self._position
        if self._in_epoch and position >= len(self):  # the epoch is fully handed out
            epoch, position = epoch + 1, 0
        return {
            "seed": self.seed, "epoch": int(epoch), "position": int(position),
            "batch_size": self.batch_size, "shuffle": self.shuffle, "drop_last": self.drop_last,
            "dataset_size": len(self.dataset),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next iteration yields the batch after the last one handed out."""
        missing = {"seed", "epoch", "position"} - set(state)
        if missing:
            raise KeyError(f"loader state lacks {', '.join(sorted(missing))}")
        for key, mine in (("batch_size", self.batch_size), ("shuffle", self.shuffle),
                          ("drop_last", self.drop_last), ("dataset_size", len(self.dataset))):
            if key in state and state[key] != mine:
                raise ValueError(
                    f"loader state has {key}={state[key]!r} but this loader has {key}={mine!r}; "
                    "resuming would give different batches"
                )
        position = int(state["position"])
        if not 0 <= position <= len(self):
            raise ValueError(f"loader state position {position} is outside 0..{len(self)}")
        self.seed = int(state["seed"])
        self._epoch, self._position = int(state["epoch"]), position
        self._in_epoch, self._resume = False, True

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, num_workers={self.num_workers}, "
                f"seed={self.seed})")
