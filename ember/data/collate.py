"""PyTorch's ``default_collate`` and ``default_convert``: how a list of samples becomes one batch.

The rules are PyTorch's, dtypes included, because user code (a loss on a float64 regression
target, a dict of fields, a namedtuple) depends on exactly what comes out:

* tensors and NumPy arrays are stacked along a new first axis, keeping their dtype;
* NumPy scalars become a tensor of their dtype; Python ints int64 (bools bool), Python floats
  **float64** (``torch.tensor(batch, dtype=torch.float64)``);
* strings and bytes stay a list;
* a dict is collated key by key, a namedtuple field by field (the same type comes back), any
  other tuple or list field by field into a **list**.

(ember's in-memory datasets skip this on the loader's vectorised path; see :mod:`ember.data.loader`.)
"""
from __future__ import annotations

import collections.abc
import copy
import re

import numpy as np

from ember.tensor import Tensor

_STR_OR_OBJECT = re.compile(r"[SaUO]")
_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _stack(arrays: list[np.ndarray]) -> Tensor:
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise RuntimeError(f"default_collate: cannot stack samples of different shapes "
                           f"{sorted({a.shape for a in arrays})}; pad them or pass a collate_fn")
    return Tensor._wrap(np.stack(arrays))


def _numbers(batch: list) -> Tensor:
    """Python ints/bools (and floats mixed in after an int) as ``torch.tensor(batch)`` would infer them."""
    if all(isinstance(b, (bool, np.bool_)) for b in batch):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if any(isinstance(b, float) for b in batch):
        return Tensor._wrap(np.array(batch, dtype=np.float32))  # the default dtype
    return Tensor._wrap(np.array(batch, dtype=np.int64))


def _like_mapping(like: collections.abc.Mapping, fields: dict):
    """``fields`` in a mapping of ``like``'s type (a copy of it, updated, when it is mutable); a dict when that type
    cannot be built from one."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(fields)
            return clone
        return type(like)(fields)
    except TypeError:
        return fields


def _like_sequence(like: collections.abc.Sequence, fields: list):
    """``fields`` in a sequence of ``like``'s type (a copy of it, refilled, when it is mutable); a list when that
    type cannot be built from one."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            clone[:] = fields
            return clone
        return type(like)(fields)
    except TypeError:
        return fields


def _structure(batch: list, elem, fn):
    """Dicts, namedtuples and sequences, applying ``fn`` to each field's list of values."""
    if isinstance(elem, collections.abc.Mapping):
        return _like_mapping(elem, {key: fn([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(fn(s) for s in zip(*batch)))
    size = len(elem)
    if any(len(b) != size for b in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    fields = [fn(s) for s in zip(*batch)]
    return fields if isinstance(elem, tuple) else _like_sequence(elem, fields)


def default_collate(batch: list):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate`` does."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)) or len(batch) == 0:
        raise TypeError(f"default_collate expects a non-empty list of samples, got {type(batch).__name__}"
                        + (" of length 0" if isinstance(batch, collections.abc.Sized) and not len(batch) else ""))
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b.array for b in batch])
    if isinstance(elem, np.ndarray):
        if _STR_OR_OBJECT.search(elem.dtype.str):
            raise TypeError(_ERROR.format(elem.dtype))
        return _stack([np.asarray(b.array if isinstance(b, Tensor) else b) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, (collections.abc.Mapping, collections.abc.Sequence)):
        return _structure(batch, elem, default_collate)
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """One sample's NumPy arrays and scalars as tensors, nothing stacked (the loader's ``batch_size=None`` mode).

    Python numbers and strings stay as they are; a tuple becomes a list, like PyTorch's.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STR_OR_OBJECT.search(data.dtype.str) else Tensor._wrap(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _like_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _like_sequence(data, [default_convert(d) for d in data])
    return data
