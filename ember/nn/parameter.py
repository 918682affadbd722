"""PyTorch's ``torch.nn.parameter``: :class:`Parameter`, and the uninitialised parameter and buffer that lazy
modules (:mod:`ember.nn.layers.lazy`) hold until their first forward tells them their shape.

An uninitialised tensor has a dtype and ``requires_grad`` but no shape and no values: reading its values
(any op, ``.shape``, ``.numpy()``, ...) raises a RuntimeError that says to run a forward pass first.
:meth:`UninitializedTensorMixin.materialize` gives it a shape *in place*: the same object becomes a
plain :class:`Parameter` (or buffer :class:`~ember.tensor.Tensor`), so whatever holds it (an optimizer,
a parameter list) keeps working with it.
"""
from __future__ import annotations

import copy

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt
from ember.nn.module import Parameter
from ember.tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]

_VALUES = Tensor.array  # the slot that holds a tensor's NumPy array, read past the guard below


class UninitializedTensorMixin:
    """What the uninitialised parameter and buffer share: the guard on their values and ``materialize``."""

    __slots__ = ()
    _uninitialized = True  # how ember.nn.module recognises one without importing this module
    cls_to_become: type = Tensor

    @property
    def array(self) -> np.ndarray:
        raise RuntimeError(
            f"can't use an {type(self).__name__} (a parameter or buffer of a lazy module whose shape is not known "
            "yet): run a forward pass with a sample input first (or load a state_dict), so that the lazy module "
            "infers its shape and initialises it")

    @array.setter
    def array(self, value: np.ndarray) -> None:
        _VALUES.__set__(self, value)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor ``shape`` (zero-filled, for the owner to initialise) and turn it, in place, into
        a plain tensor of ``cls_to_become``; ``dtype`` defaults to the one it was created with."""
        _devices.check(device)
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        d = _VALUES.__get__(self).dtype if dtype is None else _dt.resolve(dtype)
        _VALUES.__set__(self, np.zeros(shape, d))
        self.__class__ = self.cls_to_become

    # what can be asked of a tensor without values (PyTorch allows these too)
    @property
    def dtype(self) -> np.dtype:
        return _VALUES.__get__(self).dtype

    def is_floating_point(self) -> bool:
        return _VALUES.__get__(self).dtype.kind == "f"

    def requires_grad_(self, requires_grad: bool = True):
        if requires_grad and not self.is_floating_point():
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        out = type(self)(self.requires_grad, None, _VALUES.__get__(self).dtype)
        memo[id(self)] = out
        return out

    def __copy__(self):
        return copy.deepcopy(self)

    def __reduce_ex__(self, protocol):
        return type(self), (self.requires_grad, None, _VALUES.__get__(self).dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter of a lazy module before its first forward; ``materialize`` makes it a :class:`Parameter`."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        _devices.check(device)
        Parameter.__init__(self, np.empty((0,), _dt.resolve(dtype)), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module (e.g. a running mean) before its first forward; ``materialize`` makes it a
    plain :class:`~ember.tensor.Tensor`."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        _devices.check(device)
        Tensor.__init__(self, np.empty((0,), _dt.resolve(dtype)), requires_grad=requires_grad)


def is_lazy(tensor) -> bool:
    """Whether ``tensor`` is an uninitialised (lazy) parameter or buffer."""
    return isinstance(tensor, UninitializedTensorMixin)
