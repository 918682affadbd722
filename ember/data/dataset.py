"""Datasets: the protocol the loader relies on, in-memory image sets, TensorDataset, concatenation and splits.

A dataset is anything with ``__len__`` and ``__getitem__``. In-memory datasets also expose
their whole arrays through ``arrays()``, which lets :class:`~ember.data.DataLoader` build a
batch with one fancy index per array instead of a Python loop over samples.

Pixel convention: image datasets store raw ``uint8`` pixels (4x less memory than float32) in
NCHW order; :func:`to_float` — applied by ``__getitem__`` and by the loader to every uint8
array — turns them into float32 in [0, 1] by ``x / 255``.
"""
from __future__ import annotations

import bisect
import math
import numbers
import warnings
from typing import Iterable, Iterator, Sequence

import numpy as np

import ember.random as erandom
from ember.tensor import Tensor


def to_float(x) -> np.ndarray:
    """Pixels as float32: uint8 is scaled to [0, 1] (x / 255), other dtypes are cast; Tensors are unwrapped."""
    x = x.array if isinstance(x, Tensor) else np.asarray(x)
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return out
    return x.astype(np.float32, copy=False)


def _as_array(x) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


class Dataset:
    """Base class: subclasses implement ``__getitem__`` and (for samplers and ``len(loader)``) ``__len__``.

    No ``__len__`` here, as in PyTorch: a stream (:class:`IterableDataset`) may have none, and
    ``len()`` on it must fail as on any unsized object.
    """

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        """``train + extra`` is ``ConcatDataset([train, extra])``, as in PyTorch."""
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples (``__iter__``) rather than an indexable collection.

    For data that cannot be indexed cheaply (records read from a file or a generator). The
    DataLoader batches the stream in order; it cannot shuffle it or use a sampler.
    """

    def __iter__(self) -> Iterator:  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """Several datasets one after another: index ``i`` falls in the first part whose cumulative size exceeds it.

    ``cumulative_sizes[k]`` is the number of samples in parts ``0..k``. When every part is an
    in-memory dataset (``arrays()``) with the same fields, the DataLoader still batches by
    fancy indexing into each part's arrays, without copying them into one.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (part {i}); use ChainDataset")
        self.cumulative_sizes: list[int] = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        idx = int(idx)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of {n} samples")
        idx %= n
        part = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[part][idx - (self.cumulative_sizes[part - 1] if part else 0)]

    def __repr__(self) -> str:
        return f"ConcatDataset({len(self)} samples from {len(self.datasets)} datasets)"


class StackDataset(Dataset):
    """Several datasets of the same length side by side: sample ``i`` is ``(a[i], b[i], ...)`` for
    ``StackDataset(a, b, ...)``, or ``{"image": a[i], "text": b[i]}`` for ``StackDataset(image=a, text=b)``
    (PyTorch's). The default collate batches dict samples key by key."""

    datasets: "tuple | dict"

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets either positionally (samples are tuples) or by keyword "
                             "(samples are dicts), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        parts = dict(kwargs) if kwargs else {i: d for i, d in enumerate(args)}
        lengths = {}
        for key, d in parts.items():
            if isinstance(d, IterableDataset) or not hasattr(d, "__len__"):
                raise TypeError(f"StackDataset: dataset {key!r} ({type(d).__name__}) has no length; "
                                "only map-style datasets can be stacked")
            lengths[key] = len(d)
        if len(set(lengths.values())) > 1:
            raise ValueError("StackDataset: size mismatch between datasets: "
                             + ", ".join(f"{k!r} has {n}" for k, n in lengths.items()))
        self._length = next(iter(lengths.values()))
        self.datasets = dict(kwargs) if kwargs else tuple(args)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """Many samples at once (PyTorch's batched fetch): a part with ``__getitems__`` is asked once."""
        def column(d):
            if callable(getattr(d, "__getitems__", None)):
                items = d.__getitems__(indices)
                if len(items) != len(indices):
                    raise ValueError(f"StackDataset: nested dataset's output size mismatch: expected "
                                     f"{len(indices)}, got {len(items)}")
                return list(items)
            return [d[i] for i in indices]

        if isinstance(self.datasets, dict):
            cols = {k: column(d) for k, d in self.datasets.items()}
            return [{k: c[j] for k, c in cols.items()} for j in range(len(indices))]
        cols = [column(d) for d in self.datasets]
        return [tuple(c[j] for c in cols) for j in range(len(indices))]

    def __repr__(self) -> str:
        names = list(self.datasets) if isinstance(self.datasets, dict) else len(self.datasets)
        return f"StackDataset({len(self)} samples from {names} datasets)"


class ChainDataset(IterableDataset):
    """Several iterable datasets streamed one after another (``ConcatDataset`` for streams)."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset; part {i} is a {type(d).__name__}")

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ImageArrayDataset(Dataset):
    """Images held in memory as uint8 NCHW with int64 labels (the base of MNIST, CIFAR10, ...).

    ``__getitem__`` returns ``(image, label)`` with the image float32 (C, H, W) in [0, 1], after
    the optional per-sample ``transform``. Without a transform the loader bypasses
    ``__getitem__`` and batches ``arrays()`` directly.
    """

    classes: list[str] = []

    def __init__(self, data: np.ndarray, targets: np.ndarray, classes: Sequence[str] | None = None,
                 transform=None, name: str | None = None):
        data = np.asarray(data)
        targets = np.asarray(targets, dtype=np.int64)
        if data.ndim != 4:
            raise ValueError(f"image data must be (N, C, H, W), got shape {data.shape}")
        if targets.shape != (data.shape[0],):
            raise ValueError(f"need one label per image: {data.shape[0]} images, labels of shape {targets.shape}")
        self.data = data
        self.targets = targets
        if classes is not None:
            self.classes = list(classes)
        self.transform = transform
        self.name = name or type(self).__name__

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int):
        image = to_float(self.data[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored arrays (uint8 images, int64 labels), not copied; read-only when shared."""
        return self.data, self.targets

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def class_counts(self) -> np.ndarray:
        """How many samples each class has: ``bincount(targets)``."""
        return np.bincount(self.targets, minlength=len(self.classes))

    def __repr__(self) -> str:
        n, c, h, w = self.data.shape
        return f"{self.name}({n} images {c}x{h}x{w}, {len(self.classes)} classes)"


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays (ndarrays or ember Tensors), like PyTorch's.

    ``dataset[i]`` is a tuple of ember Tensors; ``arrays()`` returns the underlying ndarrays.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(_as_array(t) for t in tensors)
        lengths = {a.shape[0] if a.ndim else None for a in arrays}
        if len(lengths) != 1 or None in lengths:
            raise ValueError(
                f"TensorDataset arrays must share their first dimension, got shapes {[a.shape for a in arrays]}"
            )
        self.tensors = arrays

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(Tensor._wrap(np.asarray(a[index])) for a in self.tensors)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.tensors

    @property
    def targets(self) -> np.ndarray | None:
        return self.tensors[1] if len(self.tensors) > 1 else None

    def __repr__(self) -> str:
        return f"TensorDataset({', '.join(str(a.shape) for a in self.tensors)})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (no copy until asked for arrays)."""

    def __init__(self, dataset, indices):
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1:
            raise ValueError(f"Subset indices must be 1-D, got shape {indices.shape}")
        n = len(dataset)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"Subset indices out of range for a dataset of {n} samples")
        self.dataset = dataset
        self.indices = indices % n if n else indices

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    @property
    def transform(self):
        return getattr(self.dataset, "transform", None)

    @property
    def classes(self):
        return getattr(self.dataset, "classes", None)

    @property
    def targets(self):
        t = getattr(self.dataset, "targets", None)
        return None if t is None else np.asarray(t)[self.indices]

    def has_arrays(self) -> bool:
        return hasattr(self.dataset, "arrays") and (not hasattr(self.dataset, "has_arrays")
                                                    or self.dataset.has_arrays())

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The parent's arrays at ``indices`` (a copy)."""
        if not self.has_arrays():
            raise TypeError(f"{type(self.dataset).__name__} has no arrays(); iterate the Subset instead")
        return tuple(a[self.indices] for a in self.dataset.arrays())

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"


def _split_lengths(lengths: Sequence[float], n: int) -> list[int]:
    """PyTorch's rule: lengths summing to 1 are fractions (floors, the remainder handed out round-robin)."""
    lengths = list(lengths)
    if not lengths or any(isinstance(x, bool) or not isinstance(x, numbers.Real) or x < 0 for x in lengths):
        raise ValueError(f"split lengths must be non-negative numbers, got {lengths}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=3)
        return counts
    if any(not float(x).is_integer() for x in lengths):
        raise ValueError(f"split fractions {lengths} must sum to 1 (or pass integer lengths summing to {n})")
    if total != n:
        raise ValueError(f"split lengths {lengths} sum to {int(total)}, but the dataset has {n} samples")
    return [int(x) for x in lengths]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, (np.random.Generator, erandom.Generator)):
        return erandom.numpy_rng(seed)
    return np.random.default_rng(seed) if seed is not None else erandom.generator()


def random_split(dataset, lengths: Sequence[float], generator: erandom.Generator | None = None, *,
                 seed: int | np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions summing to 1).

    The permutation comes from ``generator`` (an :class:`ember.Generator`, as in PyTorch) or
    ``seed`` (an int, ember's shorthand), else from ember's global generator, so
    ``ember.manual_seed`` fixes it. The split sizes are PyTorch's; the permutation is not.
    """
    if generator is not None and seed is not None:
        raise ValueError("give random_split a generator or a seed, not both")
    if generator is not None and not isinstance(generator, (erandom.Generator, np.random.Generator)):
        raise TypeError(f"generator must be an ember.Generator, got {type(generator).__name__} "
                        "(pass an int as seed=)")
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    perm = _rng(generator if generator is not None else seed).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def holdout_split(dataset, val_fraction: float = 0.1, seed: int = 0, stratify: bool = True) -> tuple[Subset, Subset]:
    """Hold out ``val_fraction`` of ``dataset`` for validation with a fixed seed: ``(train, val)``.

    With ``stratify`` (the default when the dataset has ``targets``) every class gives the same
    fraction, so the validation set has the training set's class balance.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = _rng(seed)
    targets = getattr(dataset, "targets", None)
    if stratify and targets is not None:
        targets = np.asarray(targets)
        val = []
        for c in np.unique(targets):
            members = np.flatnonzero(targets == c)
            rng.shuffle(members)
            val.append(members[: int(round(val_fraction * members.size))])
        val = np.sort(np.concatenate(val))
    else:
        n = len(dataset)
        val = np.sort(rng.permutation(n)[: int(round(val_fraction * n))])
    mask = np.ones(len(dataset), dtype=bool)
    mask[val] = False
    return Subset(dataset, np.flatnonzero(mask)), Subset(dataset, val)
