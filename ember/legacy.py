"""PyTorch's older spellings that scripts and tutorials still use: ``torch.Size`` and the typed tensor
constructors (``torch.FloatTensor(2, 3)``, ``torch.LongTensor([1, 2])``, ``x.type(torch.FloatTensor)``)."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.tensor import Tensor

__all__ = ["Size", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor"]


class Size(tuple):
    """A tensor shape (a tuple): ``x.shape == ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size({list(self)!r})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class _TypedTensor:
    """``FloatTensor(2, 3)`` is an uninitialised (here: zero-filled) 2×3 float32 tensor; ``FloatTensor(data)`` a
    float32 tensor of ``data``. Passed as a dtype (``x.type(FloatTensor)``) it names its dtype."""

    _legacy_dtype: type = np.float32

    def __new__(cls, *args) -> Tensor:
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return Tensor._wrap(np.zeros(tuple(int(a) for a in args), cls._legacy_dtype))
        if len(args) == 1 and isinstance(args[0], Size):  # FloatTensor(x.size()): a shape, not data
            return Tensor._wrap(np.zeros(tuple(args[0]), cls._legacy_dtype))
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}() takes sizes (ints) or one sequence of data, got {args!r}")
        data = args[0].array if isinstance(args[0], Tensor) else args[0]
        return Tensor(np.array(data, dtype=cls._legacy_dtype))


def _typed(name: str, dtype) -> type:
    return type(name, (_TypedTensor,), {"_legacy_dtype": dtype, "__module__": __name__,
                                        "__doc__": f"Legacy constructor of {np.dtype(dtype).name} tensors."})


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
HalfTensor = _typed("HalfTensor", np.float16)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
ShortTensor = _typed("ShortTensor", np.int16)
CharTensor = _typed("CharTensor", np.int8)
ByteTensor = _typed("ByteTensor", np.uint8)
BoolTensor = _typed("BoolTensor", np.bool_)

_dt.register_legacy_types([FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
                           ByteTensor, BoolTensor])
