"""DataLoader: mini-batches of ember Tensors, vectorised, prefetched, reproducible and resumable.

PyTorch's DataLoader arguments all work (``sampler``, ``batch_sampler``, ``collate_fn``,
``batch_size=None``, iterable datasets, ``generator``, ``worker_init_fn``, ...), with two ember
additions: a batch ``transform`` (augmentation on whole batches) and ``seed`` (see Determinism).

How a batch is made
    In-memory datasets (those with ``arrays()`` and no per-sample ``transform``; Subsets and
    ConcatDatasets of them too) are batched by one fancy index per array: ``x[order[i:i+B]]``,
    whatever sampler chose the indices. Their fields are then converted the way ember's image
    datasets present samples — uint8 pixels to float32 in [0, 1] (``x / 255``, like
    torchvision's ``ToTensor``), other floats to float32, integers to int64 — so images come out
    NCHW float32 and labels int64. Any other dataset is read sample by sample through
    ``dataset[i]`` and merged by ``collate_fn``, by default PyTorch's :func:`default_collate`
    (its dtypes: a Python float label gives float64, a uint8 array stays uint8). The batch
    ``transform`` (see :mod:`ember.data.augment`) is then applied to the first field (images),
    or to (images, labels) for label-mixing transforms such as mixup.

Determinism
    Every random choice of the loader's own derives from ``seed`` through NumPy's SeedSequence:
    epoch ``e``'s order is ``permutation(n)`` under spawn key ``(e, 0)``, and batch ``b``'s
    transform gets its own Generator under spawn key ``(e, 1, b)``. So the batches depend only
    on (seed, epoch, batch index) — never on ``num_workers``, thread timing, or how many batches
    were prefetched. With ``seed=None`` the seed is drawn once from ``generator`` (an
    :class:`ember.Generator`) or ember's global generator, so ``ember.manual_seed`` fixes it. A
    ``sampler``/``batch_sampler`` of your own decides the order instead (its generator, not the
    seed, fixes it). (A random *per-sample* dataset transform draws from ember's global
    generator, so it is reproducible only with ``num_workers=0``; put random augmentation in the
    loader's batch ``transform``.)

Resume
    ``state_dict()`` records (seed, epoch, position = batches handed out in the current epoch);
    a loader given that state by ``load_state_dict`` continues with exactly the batches an
    uninterrupted loader would have produced next. With a sampler of your own, or an iterable
    dataset, it skips ``position`` batches of a new pass: exact when that pass repeats the
    interrupted one (a sampler with a generator restored to its state, a deterministic stream).

Workers
    With ``num_workers > 0``, that many background *threads* (not processes: no pickling, one
    copy of the dataset) prepare up to ``num_workers * prefetch_factor`` batches ahead while the
    training step runs (NumPy's copies and Pillow's decoding release the GIL), and batches are
    still handed out in order. Each thread runs ``worker_init_fn(worker_id)`` first and sees
    itself in :func:`~ember.data.get_worker_info`. An iterable dataset is read in the calling
    thread (so it is never duplicated across workers); collation and the transform still run in
    the workers.
"""
from __future__ import annotations

import itertools
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout
from typing import Any, Callable, Iterator

import numpy as np

import ember.random as erandom
from ember.data.augment import apply_transform
from ember.data.collate import default_collate, default_convert
from ember.data.dataset import ConcatDataset, IterableDataset, Subset, to_float
from ember.data.sampler import BatchSampler, Sampler, SequentialSampler
from ember.data.worker import WorkerInfo, _enter_worker
from ember.tensor import Tensor


def _convert(field) -> np.ndarray:
    """One batch field to its loader dtype: uint8 -> float32/255, float -> float32, int -> int64."""
    a = field.array if isinstance(field, Tensor) else np.asarray(field)
    if a.dtype == np.uint8 or a.dtype.kind == "f":
        return to_float(a)
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    return a


# ------------------------------------------------------------------ the vectorised path


class _ArrayRows:
    """Batch fields cut from whole arrays by one fancy index each."""

    __slots__ = ("arrays",)

    def __init__(self, arrays: tuple[np.ndarray, ...]):
        self.arrays = arrays

    def specs(self) -> list[tuple]:
        return [(a.dtype, a.shape[1:]) for a in self.arrays]

    def take(self, rows: np.ndarray) -> list[np.ndarray]:
        return [a[rows] for a in self.arrays]


class _MappedRows:
    """A Subset's rows: its indices composed into the parent's."""

    __slots__ = ("source", "index_map")

    def __init__(self, source, index_map: np.ndarray):
        self.source, self.index_map = source, index_map

    def specs(self) -> list[tuple]:
        return self.source.specs()

    def take(self, rows: np.ndarray) -> list[np.ndarray]:
        return self.source.take(self.index_map[rows])


class _ConcatRows:
    """A ConcatDataset's rows: each part's share gathered from that part's arrays (no concatenated copy)."""

    def __init__(self, parts: list, ends: list[int]):
        self.parts = parts
        self.ends = np.asarray(ends, dtype=np.int64)
        self.starts = np.concatenate([[0], self.ends[:-1]])

    def specs(self) -> list[tuple]:
        return self.parts[0].specs()

    def take(self, rows: np.ndarray) -> list[np.ndarray]:
        part = np.searchsorted(self.ends, rows, side="right")
        if part.size and (part == part[0]).all():
            return self.parts[part[0]].take(rows - self.starts[part[0]])
        out = [np.empty((rows.size, *shape), dtype) for dtype, shape in self.specs()]
        for p in np.unique(part):
            mask = part == p
            for o, v in zip(out, self.parts[p].take(rows[mask] - self.starts[p])):
                o[mask] = v
        return out


def _array_source(dataset):
    """An object whose ``take(rows)`` gives a batch's raw fields, when batches can be cut from whole arrays; else None.

    Subsets become a composed index map and ConcatDatasets gather from each part, so a
    validation hold-out or a concatenation still batches by fancy indexing (no copy).
    """
    index_map = None
    ds = dataset
    while isinstance(ds, Subset):
        index_map = ds.indices if index_map is None else ds.indices[index_map]
        ds = ds.dataset
    if isinstance(ds, ConcatDataset):
        parts = [_array_source(d) for d in ds.datasets]
        if any(p is None for p in parts) or any(p.specs() != parts[0].specs() for p in parts):
            return None
        source = _ConcatRows(parts, ds.cumulative_sizes)
    else:
        if getattr(ds, "transform", None) is not None or not hasattr(ds, "arrays"):
            return None
        if hasattr(ds, "has_arrays") and not ds.has_arrays():
            return None
        arrays = ds.arrays()
        source = _ArrayRows(tuple(arrays) if isinstance(arrays, (tuple, list)) else (arrays,))
    return source if index_map is None else _MappedRows(source, index_map)


# ------------------------------------------------------------------ the loader's own order


class _SeededShuffle(Sampler):
    """The loader's shuffle as a sampler: the permutation of (seed, epoch) for the epoch the loader runs next."""

    def __init__(self, loader: "DataLoader"):
        self._loader = loader

    def __iter__(self) -> Iterator[int]:
        return iter(self._loader.order(self._loader.epoch).tolist())

    def __len__(self) -> int:
        return len(self._loader.dataset)


def _sample_stream(batch_rng: np.random.Generator) -> np.random.Generator:
    """A stream for the batch's per-sample reads, derived from (not drawn from) the batch's own."""
    seq = batch_rng.bit_generator.seed_seq
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (0,))))


def _check_callable(name: str, value) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of ember Tensors (PyTorch's arguments, plus ``transform`` and ``seed``).

    Parameters
    ----------
    dataset: a map-style dataset (``__len__``/``__getitem__``; ``arrays()`` for the vectorised
        path) or an :class:`~ember.data.IterableDataset`.
    batch_size: samples per batch (the last one is smaller unless ``drop_last``); None turns
        batching off: samples come one at a time, through ``collate_fn`` (default
        :func:`default_convert`).
    shuffle: a new random order every epoch (from ``seed`` and the epoch number).
    sampler / batch_sampler: the indices (or index lists) to read, instead of the loader's own order.
    num_workers: background threads preparing batches (0: prepare in the calling thread).
    collate_fn: merges the list of samples of a batch (default :func:`default_collate`).
    pin_memory, pin_memory_device, multiprocessing_context, in_order: accepted for PyTorch code
        and without effect (ember runs on the CPU, with threads, in order).
    drop_last: drop the final incomplete batch.
    timeout: seconds to wait for a worker's batch before a RuntimeError (0: forever).
    worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker thread before its first batch.
    generator: an :class:`ember.Generator` the seed is drawn from when ``seed`` is None.
    prefetch_factor: batches each worker keeps ready ahead (default 2; only with workers).
    persistent_workers: keep the worker threads between epochs.
    transform: a batch transform on NCHW float32 arrays (augmentation or preprocessing); it is
        given the batch's own ``rng`` when it takes one.
    seed: the root of the loader's randomness (order and augmentation).
    prefetch: ember's older name for ``prefetch_factor`` (allowed without workers).
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None, multiprocessing_context=None,
                 generator: erandom.Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True,
                 transform=None, seed: int | None = None, prefetch: int | None = None):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        if prefetch_factor is not None:
            if num_workers == 0:
                raise ValueError("prefetch_factor is only used with worker threads: set num_workers > 0, or leave "
                                 "prefetch_factor=None")
            if prefetch is not None:
                raise ValueError("give prefetch_factor or prefetch (its older ember name), not both")
            prefetch = prefetch_factor
        if prefetch is not None and (not isinstance(prefetch, (int, np.integer)) or prefetch < 0):
            raise ValueError(f"prefetch_factor must be an integer >= 0, got {prefetch!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers=True needs num_workers > 0")
        _check_callable("collate_fn", collate_fn)
        _check_callable("worker_init_fn", worker_init_fn)
        _check_callable("transform", transform)
        if generator is not None:
            erandom.numpy_rng(generator)  # the type check

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle if shuffle else None), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value is not None:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                                     f"{name}={value!r} (a stream is read in its own order)")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        batched = batch_size is not None or batch_sampler is not None
        if transform is not None and (collate_fn is not None or not batched):
            raise ValueError("transform= is applied to batches made by the default collation; with collate_fn or "
                             "batch_size=None, apply it in collate_fn (or in the dataset) instead")

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.num_workers = int(num_workers)
        self.prefetch = 2 if prefetch is None else int(prefetch)
        self.prefetch_factor = self.prefetch if self.num_workers > 0 else None
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.multiprocessing_context, self.in_order = multiprocessing_context, in_order
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.transform = transform
        self._iterable = iterable
        self._batched = batched
        self._own_order = not iterable and sampler is None and batch_sampler is None
        self.collate_fn = collate_fn if collate_fn is not None else (default_collate if batched else default_convert)
        self._custom_collate = collate_fn is not None
        if not iterable:
            if sampler is None:
                sampler = _SeededShuffle(self) if shuffle else SequentialSampler(dataset)
            if batch_sampler is None and batched:
                batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.seed = int(seed) if seed is not None else int(erandom.numpy_rng(generator).integers(0, 2**63 - 1))
        self._epoch = 0
        self._position = 0
        self._in_epoch = False
        self._resume = False
        self._iter_id = 0
        self._pool = None

    # ------------------------------------------------------------------ sizes and order
    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # a stream without __len__ has no length: TypeError, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self._own_order and self.batch_size is not None:
            n = len(self.dataset)
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.batch_sampler) if self._batched else len(self.sampler)

    def _length(self) -> int | None:
        try:
            return len(self)
        except TypeError:
            return None

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

    def _jobs(self, epoch: int, start: int) -> Iterator:
        """What each batch of ``epoch`` is made from (index lists, indices or samples), from batch ``start`` on."""
        if self._own_order:
            order = self.order(epoch)
            if self._batched:
                bs = self.batch_size
                return (order[b * bs:(b + 1) * bs] for b in range(start, len(self)))
            return iter(order[start:].tolist())
        if self._iterable:
            stream = iter(self.dataset)
            if self._batched:
                chunks = iter(lambda: list(itertools.islice(stream, self.batch_size)), [])
                if self.drop_last:
                    chunks = itertools.takewhile(lambda c: len(c) == self.batch_size, chunks)
                return itertools.islice(chunks, start, None)
            return itertools.islice(stream, start, None)
        return itertools.islice(iter(self.batch_sampler if self._batched else self.sampler), start, None)

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
        source = None if self._custom_collate or not self._batched or self._iterable else _array_source(self.dataset)
        jobs = enumerate(self._jobs(epoch, start), start)

        def make(b: int, job):
            return self._make_batch(job, source, self.batch_rng(epoch, b))

        if self.num_workers == 0:
            for b, job in jobs:
                batch = make(b, job)
                if iter_id == self._iter_id:
                    self._position = b + 1
                yield batch
        else:
            pool = self._pool or self._new_pool(epoch)
            pending: deque = deque()
            ahead = max(1, self.num_workers * self.prefetch)
            try:
                while True:
                    while len(pending) < ahead:
                        nxt = next(jobs, None)
                        if nxt is None:
                            break
                        pending.append((nxt[0], pool.submit(make, *nxt)))
                    if not pending:
                        break
                    b, future = pending.popleft()
                    try:
                        batch = future.result(timeout=self.timeout or None)
                    except _FutureTimeout:
                        raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds waiting for batch "
                                           f"{b}") from None
                    if iter_id == self._iter_id:
                        self._position = b + 1
                    yield batch
            finally:
                for _, future in pending:
                    future.cancel()
                if self.persistent_workers:
                    self._pool = pool
                else:
                    pool.shutdown(wait=True, cancel_futures=True)
        if iter_id == self._iter_id:
            self._epoch, self._position, self._in_epoch = epoch + 1, 0, False

    def _new_pool(self, epoch: int) -> ThreadPoolExecutor:
        ids = itertools.count()
        base_seed = int(self._seq(epoch, 2).integers(0, 2**63 - self.num_workers))

        def init():
            wid = next(ids)
            _enter_worker(WorkerInfo(wid, self.num_workers, base_seed + wid, self.dataset), self.worker_init_fn)

        return ThreadPoolExecutor(self.num_workers, thread_name_prefix="ember-loader", initializer=init)

    def _make_batch(self, job, source, rng: np.random.Generator):
        if source is not None:
            fields = [_convert(f) for f in source.take(np.asarray(job, dtype=np.int64))]
            if self.transform is not None:
                fields = self._apply_transform(fields, rng)
            return tuple(Tensor._wrap(np.ascontiguousarray(f)) for f in fields)
        if not self._batched:
            return self.collate_fn(job if self._iterable else self.dataset[job])
        if self._iterable:
            samples = job
        else:  # random per-sample transforms draw from this batch's own stream: the same with any worker count
            with erandom.drawing_from(_sample_stream(rng)):
                samples = [self.dataset[i] for i in job]
        batch = self.collate_fn(samples)
        if self.transform is None:
            return batch
        if isinstance(batch, Tensor):
            return Tensor._wrap(np.ascontiguousarray(self._apply_transform([batch.array], rng)[0]))
        if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
            n = 2 if len(batch) >= 2 and isinstance(batch[1], Tensor) else 1
            fields = self._apply_transform([t.array for t in batch[:n]], rng)
            out = [Tensor._wrap(np.ascontiguousarray(f)) for f in fields] + list(batch[n:])
            return out if isinstance(batch, list) else type(batch)(out)
        raise TypeError(f"transform= needs batches of tensors (or a list whose first field is the images), but this "
                        f"dataset's batches are {type(batch).__name__}; apply it in a collate_fn instead")

    def _apply_transform(self, fields: list, rng: np.random.Generator) -> list:
        if len(fields) >= 2:
            fields[0], fields[1] = apply_transform(self.transform, fields[0], fields[1], rng)
        else:
            fields[0], _ = apply_transform(self.transform, fields[0], None, rng)
        return fields

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict[str, Any]:
        """Plain data that pins the loader's place: seed, epoch, position and the batching setup."""
        epoch, position = self._epoch, self._position
        length = self._length()
        if self._in_epoch and length is not None and position >= length:  # the epoch is fully handed out
            epoch, position = epoch + 1, 0
        state = {
            "seed": self.seed, "epoch": int(epoch), "position": int(position),
            "batch_size": self.batch_size, "shuffle": self.shuffle, "drop_last": self.drop_last,
        }
        if not self._iterable or hasattr(self.dataset, "__len__"):
            state["dataset_size"] = len(self.dataset)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next iteration yields the batch after the last one handed out."""
        missing = {"seed", "epoch", "position"} - set(state)
        if missing:
            raise KeyError(f"loader state lacks {', '.join(sorted(missing))}")
        mine = {"batch_size": self.batch_size, "shuffle": self.shuffle, "drop_last": self.drop_last}
        if not self._iterable or hasattr(self.dataset, "__len__"):
            mine["dataset_size"] = len(self.dataset)
        for key, value in mine.items():
            if key in state and state[key] != value:
                raise ValueError(
                    f"loader state has {key}={state[key]!r} but this loader has {key}={value!r}; "
                    "resuming would give different batches"
                )
        position = int(state["position"])
        length = self._length()
        if position < 0 or (length is not None and position > length):
            raise ValueError(f"loader state position {position} is outside 0..{length}")
        self.seed = int(state["seed"])
        self._epoch, self._position = int(state["epoch"]), position
        self._in_epoch, self._resume = False, True

    def __repr__(self) -> str:
        size = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        order = "" if self._own_order or self._iterable else f", sampler={type(self.sampler).__name__}"
        return (f"DataLoader({type(self.dataset).__name__} of {size}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}{order}, drop_last={self.drop_last}, num_workers={self.num_workers}, "
                f"seed={self.seed})")
