"""Padding layers over :func:`ember.nn.functional.pad`: zero, constant, reflection and replication padding
of the last one (…1d) or two (…2d) dimensions. ``padding`` is an int (every side) or PyTorch's tuple
(left, right[, top, bottom])."""
from __future__ import annotations

from ember.nn.functional.padding import pad
from ember.nn.layers._util import positive_int
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d"]


class _Pad(Module):
    _mode = "constant"
    _dims = 2

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        name, k = type(self).__name__, 2 * self._dims
        items = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * k
        if len(items) != k:
            raise ValueError(f"{name}: padding must be an int or a tuple of {k} ints, got {padding!r}")
        for v in items:
            positive_int(v, "padding", name, allow_zero=True)
        self.padding = tuple(int(v) for v in items)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: value must be a number, got {value!r}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"{type(self).__name__} expects a {self._dims + 2}-D (batched) or {self._dims + 1}-D "
                             f"(unbatched) input, got shape {input.shape}")
        if self._mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_Pad):
    """Pad the last dimension with ``value``."""

    _dims = 1

    def __init__(self, padding, value: float):
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dimensions with ``value``."""

    _dims = 2


class ZeroPad1d(_Pad):
    """Pad the last dimension with zeros."""

    _dims = 1

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dimensions with zeros."""

    _dims = 2


class ReflectionPad1d(_Pad):
    """Mirror the last dimension about its edges (the edge is not repeated; padding < size)."""

    _mode, _dims = "reflect", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad2d(ReflectionPad1d):
    """Mirror the last two dimensions about their edges (reduces border artefacts of style-transfer nets)."""

    _dims = 2


class ReplicationPad1d(_Pad):
    """Repeat the edge values of the last dimension."""

    _mode, _dims = "replicate", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(ReplicationPad1d):
    """Repeat the edge values of the last two dimensions."""

    _dims = 2
