"""dtypes: ember uses NumPy's dtypes directly (``ember.float32 is numpy.float32``)."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

float16 = half = np.float16
float32 = float = np.float32
float64 = double = np.float64
int8 = np.int8
uint8 = np.uint8
int16 = short = np.int16
int32 = int = np.int32
int64 = long = np.int64
bool_ = np.bool_


class UnsupportedDtype:
    """A PyTorch dtype NumPy has no type for (``ember.bfloat16``).

    It exists so code that only *names* it keeps working: ``autocast(dtype=ember.bfloat16)`` (a no-op in
    ember), ``dtype in (ember.float16, ember.bfloat16)`` checks, default arguments. Building or casting a
    tensor to it goes through :func:`resolve`, which raises an error that says what to use instead.
    """

    __slots__ = ("name", "itemsize")
    is_floating_point = True
    is_complex = False
    is_signed = True

    def __init__(self, name: str, itemsize: builtins.int) -> None:
        self.name, self.itemsize = name, itemsize

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):  # pickles (checkpoints, DataLoader workers) come back as the same object
        return self.name


bfloat16 = UnsupportedDtype("bfloat16", 2)
_UNSUPPORTED = {"bfloat16": bfloat16}


def _unsupported_error(name: str) -> TypeError:
    return TypeError(
        f"{name} is not supported: NumPy has no {name} type, and ember computes in float32, float16 or float64. "
        f"Keep float32 (autocast(dtype=ember.{name}) is accepted and keeps float32), or use ember.float16 "
        "(x.half(), model.half()) for half precision")

_NAMES = {
    "float16": np.float16, "half": np.float16,
    "float32": np.float32, "float": np.float32,
    "float64": np.float64, "double": np.float64,
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "short": np.int16,
    "int32": np.int32, "int": np.int32, "int64": np.int64, "long": np.int64,
    "bool": np.bool_,
}
_VALID = {np.dtype(v) for v in _NAMES.values()}
# PyTorch's legacy tensor type names (x.type() returns them, x.type('torch.LongTensor') casts)
_TYPE_NAMES = {
    "HalfTensor": np.float16, "FloatTensor": np.float32, "DoubleTensor": np.float64, "CharTensor": np.int8,
    "ByteTensor": np.uint8, "ShortTensor": np.int16, "IntTensor": np.int32, "LongTensor": np.int64,
    "BoolTensor": np.bool_,
}

_default = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    return _default


def set_default_dtype(dtype) -> None:
    """Floating dtype of new tensors built from Python floats (float32 unless changed)."""
    global _default
    d = resolve(dtype)
    if d.kind != "f":
        raise TypeError(f"default dtype must be a floating type, got {d}")
    _default = d


def tensor_type_name(dtype) -> str:
    """'FloatTensor' for float32, 'LongTensor' for int64, ..."""
    d = np.dtype(dtype)
    return next(k for k, v in _TYPE_NAMES.items() if np.dtype(v) == d)


def is_dtype_name(name: str) -> bool:
    key = name.replace("ember.", "").replace("torch.", "")
    return key in _NAMES or key in _UNSUPPORTED  # x.to("bfloat16") then fails in resolve, naming why


_LEGACY: dict = {}  # FloatTensor, LongTensor, ... → their dtype (ember.legacy registers them)


def register_legacy_types(classes) -> None:
    for c in classes:
        _LEGACY[c] = np.dtype(c._legacy_dtype)


def resolve(dtype) -> np.dtype:
    """Turn a dtype-like (None, np dtype, type, or name) into a NumPy dtype, or fail naming the valid ones."""
    if dtype is None:
        return _default
    if isinstance(dtype, UnsupportedDtype):
        raise _unsupported_error(dtype.name)
    if isinstance(dtype, type) and dtype in _LEGACY:  # x.type(ember.FloatTensor)
        return _LEGACY[dtype]
    if isinstance(dtype, str):
        key = dtype.replace("ember.", "").replace("torch.", "")
        if key in _NAMES:
            return np.dtype(_NAMES[key])
        if key in _TYPE_NAMES:
            return np.dtype(_TYPE_NAMES[key])
        if key in _UNSUPPORTED:
            raise _unsupported_error(key)
    else:
        try:
            d = np.dtype(dtype)
        except TypeError:
            d = None
        if d is not None and d in _VALID:
            return d
    valid = ", ".join(sorted({np.dtype(v).name for v in _NAMES.values()}))
    raise TypeError(f"unknown dtype {dtype!r}; valid dtypes are: {valid}")


def default_for_python_value(value: Any) -> np.dtype:
    """dtype of a tensor filled with ``value``: bool, int64 for integers, else the default float."""
    # this module rebinds ``int`` and ``float`` to NumPy types (ember.int, ember.float): use the builtins
    if isinstance(value, (builtins.bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (builtins.int, np.integer)):
        return np.dtype(np.int64)
    return _default


def as_array(data: Any, dtype=None) -> np.ndarray:
    """Convert data to an ndarray: floats → default float dtype, ints → int64, bools → bool."""
    if dtype is not None:
        d = resolve(dtype)
        if isinstance(data, np.ndarray) and data.dtype == d:
            return data
        return np.asarray(data, dtype=d)
    if isinstance(data, np.ndarray):
        arr = data
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"cannot build a tensor from {type(data).__name__} of unequal lengths: {e}") from None
    kind = arr.dtype.kind
    if kind == "f":
        if not isinstance(data, np.ndarray) and arr.dtype != _default:
            arr = arr.astype(_default)
        return arr
    if kind in "iu":
        return arr if isinstance(data, np.ndarray) else arr.astype(np.int64)
    if kind == "b":
        return arr
    if kind == "O":
        raise TypeError(f"cannot build a tensor from objects of type {type(data).__name__}")
    valid = ", ".join(sorted({np.dtype(v).name for v in _NAMES.values()}))
    raise TypeError(f"cannot build a tensor of dtype {arr.dtype}; valid dtypes are: {valid}")


class finfo:
    """Limits of a floating dtype (``ember.finfo(ember.float16).max``), PyTorch's attributes: ``bits``, ``eps``
    (the gap between 1 and the next value), ``max``, ``min`` (the lowest finite value), ``tiny`` =
    ``smallest_normal``, ``resolution`` (10^−digits) and ``dtype`` (its name). Without an argument, the default
    float dtype. bfloat16 is answered too (ember cannot compute in it)."""

    def __init__(self, type=None) -> None:  # noqa: A002 - PyTorch's argument name
        if isinstance(type, UnsupportedDtype):
            if type is not bfloat16:
                raise _unsupported_error(type.name)
            self.bits, self.eps, self.max, self.tiny, self.resolution = 16, 2.0 ** -7, 3.3895313892515355e38, \
                2.0 ** -126, 0.01
            self.dtype = "bfloat16"
        else:
            d = _default if type is None else resolve(type)
            if d.kind != "f":
                raise TypeError(f"ember.finfo() requires a floating point input type, got {d.name}; use ember.iinfo "
                                "for integer types")
            f = np.finfo(d)
            self.bits, self.eps, self.max = builtins.int(f.bits), builtins.float(f.eps), builtins.float(f.max)
            self.tiny, self.resolution = builtins.float(f.smallest_normal), 10.0 ** -f.precision
            self.dtype = d.name
        self.min = -self.max
        self.smallest_normal = self.tiny

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``ember.iinfo(ember.int32).max``): ``bits``, ``max``, ``min`` and ``dtype``
    (its name), as PyTorch."""

    def __init__(self, type) -> None:  # noqa: A002 - PyTorch's argument name
        d = resolve(type)
        if d.kind == "b":
            raise TypeError("ember.bool is not supported by ember.iinfo")
        if d.kind not in "iu":
            raise TypeError(f"ember.iinfo() requires an integer input type, got {d.name}; use ember.finfo for "
                            "floating types")
        i = np.iinfo(d)
        self.bits, self.max, self.min, self.dtype = builtins.int(i.bits), builtins.int(i.max), builtins.int(i.min), d.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"  # PyTorch's format
