"""Samplers: which dataset indices a DataLoader reads, and in what order (PyTorch's ``torch.utils.data`` samplers).

A sampler is an iterable of indices with a length; a batch sampler is an iterable of index lists.
Random ones draw from ``generator`` (an :class:`ember.Generator`), or, without one, from a seed
taken from ember's global generator at each pass, so ``ember.manual_seed`` fixes them and every
epoch still gets a new order.
"""
from __future__ import annotations

import itertools
import numbers
from typing import Iterable, Iterator, Sequence, Sized

import numpy as np

import ember.random as erandom
from ember.tensor import Tensor


def _pass_rng(generator) -> np.random.Generator:
    """The stream for one pass: the generator's own, or a fresh one seeded from the global generator."""
    if generator is not None:
        return erandom.numpy_rng(generator)
    return np.random.default_rng(int(erandom.generator().integers(0, 2**63 - 1)))


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be a boolean value, but got {name}={value!r}")


class Sampler:
    """Base class: subclasses implement ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:  # pragma: no cover - abstract
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1: the order the data is stored in."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the whole dataset, or ``num_samples`` draws with ``replacement``.

    Without replacement and with ``num_samples`` above the dataset size, whole permutations
    follow one another (every sample the same number of times, up to the last partial one).
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        _check_bool("replacement", replacement)
        if num_samples is not None:
            _check_positive_int("num_samples", num_samples)
        if generator is not None:
            erandom.numpy_rng(generator)  # the type check, now rather than at the first epoch
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else int(num_samples)
        self.generator = generator
        if self._num_samples is None and len(data_source) == 0:
            raise ValueError("num_samples should be a positive integer value, but the dataset is empty")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = _pass_rng(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        perms = [rng.permutation(n) for _ in range(-(-k // n))]
        return iter(np.concatenate(perms)[:k].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (e.g. a validation fold of one dataset)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        if generator is not None:
            erandom.numpy_rng(generator)
        self.indices = indices.tolist() if isinstance(indices, Tensor) else indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _pass_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (rebalancing classes).

    For class imbalance give each sample ``1 / count(its class)``, so every class is drawn
    equally often. Without ``replacement`` no index repeats (so ``num_samples`` cannot exceed
    the number of non-zero weights).
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        w = np.asarray(weights.array if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite and non-negative with a positive sum, got "
                             f"{w.tolist() if w.size <= 10 else f'{w.size} values'}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"cannot draw num_samples={num_samples} without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        if generator is not None:
            erandom.numpy_rng(generator)
        self.weights = Tensor._wrap(w)
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        w = self.weights.array
        idx = _pass_rng(self.generator).choice(w.size, size=self.num_samples, replace=self.replacement, p=w / w.sum())
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of the dataset that replica ``rank`` of ``num_replicas`` reads, with PyTorch's exact assignment.

    In data-parallel training every process builds the same index list and takes every ``num_replicas``-th entry
    from its ``rank`` on, so the replicas see disjoint parts of each epoch. The list is ``range(len(dataset))``,
    or with ``shuffle`` a permutation drawn from a generator seeded with ``seed + epoch`` (every replica draws
    the same one; call :meth:`set_epoch` at the start of each epoch, or every epoch repeats the same order).
    Each replica gets ⌈len / num_replicas⌉ indices: the list is padded by repeating its start so it divides
    evenly, or with ``drop_last`` cut to ⌊len / num_replicas⌋ per replica instead.

    ember runs in one process, so ``num_replicas`` and ``rank`` default to 1 and 0 (the whole dataset); give
    them to reproduce a replica's share. The permutation is ember's, not bit-for-bit torch's.
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        num_replicas = 1 if num_replicas is None else num_replicas
        rank = 0 if rank is None else rank
        _check_positive_int("num_replicas", num_replicas)
        if not isinstance(rank, numbers.Integral) or isinstance(rank, bool) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank!r}, rank should be in the interval [0, {num_replicas - 1}] "
                             f"for num_replicas={num_replicas}")
        _check_bool("shuffle", shuffle)
        _check_bool("drop_last", drop_last)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed should be an integer, but got seed={seed!r}")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = -(-(n - self.num_replicas) // self.num_replicas)  # ⌊n / replicas⌋
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = erandom.Generator().manual_seed(self.seed + self.epoch)
            indices = erandom.numpy_rng(g).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        elif indices:  # pad by repeating the list from its start (several times for tiny datasets)
            pad = self.total_size - n
            indices += (indices * -(-pad // n))[:pad]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass shuffle with ``seed + epoch``: a new order each epoch, the same on every replica."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise TypeError(f"epoch should be an integer, but got epoch={epoch!r}")
        self.epoch = int(epoch)
