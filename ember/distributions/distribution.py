"""The base of ember's probability distributions (``torch.distributions.Distribution``'s interface).

A distribution holds its parameters as ember tensors broadcast to one ``batch_shape``; every quantity it
returns (``log_prob``, ``entropy``, ``rsample``, ``kl_divergence``) is built from ember tensor ops, so
autograd differentiates it with respect to the parameters (and to ``value``) with no gradient code here.
Draws come from ember's global generator, so ``ember.manual_seed`` makes them reproducible.

Argument checks follow PyTorch's ``validate_args``: on by default (``Distribution.set_default_validate_args``
turns them off everywhere, ``validate_args=False`` for one distribution), they raise ``ValueError`` for
parameters outside their constraint (a scale <= 0, probabilities outside [0, 1]) and for ``log_prob`` values
outside the support. They read the parameters' values, which costs a pass over them per construction.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

import numpy as np

from ember import dtypes as _dt
from ember import random as _r
from ember.legacy import Size
from ember.ops import api as _ops
from ember.tensor import Tensor, no_grad

__all__ = ["Distribution", "broadcast_all"]


def _as_size(shape) -> Size:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return Size((int(shape),))
    try:
        return Size(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"a shape must be a tuple of ints (such as ember.Size([10])), got {shape!r}") from None


def broadcast_all(*values, expand: bool = True) -> list[Tensor]:
    """Tensors of one shape from tensors and numbers (as ``torch.distributions.utils.broadcast_all``).

    Numbers become tensors of the first tensor's dtype (the default float dtype when all are numbers);
    the broadcast is an op, so gradients reach the original tensors. ``expand=False`` checks that the
    shapes broadcast but returns the tensors unexpanded (for :class:`BroadcastParameter`)."""
    ref = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)) or isinstance(v, bool):
            raise ValueError(f"The input arguments must be of type Tensor or Number, got {type(v).__name__}")
    dtype = ref.array.dtype if ref is not None and ref.array.dtype.kind == "f" else _dt.get_default_dtype()
    tensors = [v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v, dtype=dtype)) for v in values]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ValueError("the parameters' shapes do not broadcast together: "
                         + ", ".join(str(tuple(t.shape)) for t in tensors)) from None
    return [t if t.shape == shape or not expand else _ops.broadcast_to(t, shape) for t in tensors]


def broadcast_shape(*tensors: Tensor) -> tuple:
    return tuple(np.broadcast_shapes(*(t.shape for t in tensors)))


class BroadcastParameter:
    """A parameter stored as given and broadcast to the batch shape each time it is read.

    PyTorch expands parameters once, in ``__init__``; its expand node saves nothing, so a distribution built
    from leaf parameters (a learnable prior made once) serves any number of backward passes. ember frees
    every node after backward, so a broadcast made once would serve only one: broadcasting on each read
    gives every use a fresh node, and a distribution the same reuse as in PyTorch."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.key = name, "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        t = obj.__dict__[self.key]
        shape = tuple(obj._batch_shape + obj._event_shape)
        return t if t.shape == shape else _ops.broadcast_to(t, shape)

    def __set__(self, obj, value: Tensor) -> None:
        obj.__dict__[self.key] = value


def _shown(a: np.ndarray) -> str:
    return str(a.item()) if a.size == 1 and a.ndim == 0 else np.array2string(a, threshold=10)


class Distribution:
    """Base class: shapes, sampling with and without gradient, argument validation.

    Subclasses set ``arg_constraints`` (parameter name → (predicate on its values, description)), call
    ``super().__init__(batch_shape, event_shape, validate_args)`` once their parameters are tensors, and
    implement ``rsample`` (reparameterised, differentiable) or ``sample``, plus ``log_prob``, ``entropy``,
    ``mean`` and ``variance``.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args_default = True  # PyTorch's default (it follows __debug__, which is True unless python -O)
    arg_constraints: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {}

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for every distribution created afterwards."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args expects True or False, got {value!r}")
        Distribution._validate_args_default = value

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = _as_size(batch_shape)
        self._event_shape = _as_size(event_shape)
        self._validate_args = Distribution._validate_args_default if validate_args is None else bool(validate_args)
        if self._validate_args:
            self._check_args()

    def _check_args(self) -> None:
        """Raise ValueError naming the first parameter outside its constraint (``arg_constraints``)."""
        given = getattr(self, "_given", self.arg_constraints)
        for name, (check, what) in self.arg_constraints.items():
            value = getattr(self, name) if name in given else None
            if not isinstance(value, Tensor):  # the parameter that was not given (probs vs logits)
                continue
            if not np.asarray(check(value.array)).all():
                raise ValueError(
                    f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of distribution "
                    f"{self!r} to satisfy the constraint {what}, but found invalid values:\n{_shown(value.array)}")

    # ------------------------------------------------------------------ shapes
    @property
    def batch_shape(self) -> Size:
        """The shape over which parameters vary: independent, not identically distributed draws."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of one draw (``()`` for the scalar distributions here)."""
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> Size:
        return Size(_as_size(sample_shape) + self._batch_shape + self._event_shape)

    # ------------------------------------------------------------------ sampling
    def sample(self, sample_shape=()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, cut from the graph (no gradient)."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()) -> Tensor:
        """Reparameterised draws: a differentiable function of the parameters and parameter-free noise."""
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (rsample): its draws are "
                                  "discrete, so no gradient flows through them; use sample() and a score-function "
                                  "estimator (log_prob) instead")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    @staticmethod
    def _rng() -> np.random.Generator:
        return _r.numpy_rng(None)  # ember's global stream (or the DataLoader thread's), seeded by manual_seed

    # ------------------------------------------------------------------ statistics
    def log_prob(self, value: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def entropy(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self) -> Tensor:
        return _ops.exp(self.entropy())

    @property
    def mean(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return _ops.sqrt(self.variance)

    # ------------------------------------------------------------------ validation
    def _support_check(self, value: np.ndarray) -> tuple[np.ndarray, str]:
        """(which elements of ``value`` lie in the support, the support described)."""
        return ~np.isnan(value), "Real()"

    def _validate_sample(self, value) -> None:
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        actual, expected = tuple(value.shape), tuple(self._batch_shape + self._event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {actual} vs {expected}.")
        ok, what = self._support_check(value.array)
        if not np.asarray(ok).all():
            raise ValueError(f"Expected value argument (Tensor of shape {actual}) to be within the support ({what}) "
                             f"of the distribution {self!r}, but found invalid values:\n{_shown(value.array)}")

    def __repr__(self) -> str:
        parts = []
        # the parameters given (probs or logits, not the one derived from it later), as PyTorch shows them
        for name in getattr(self, "_given", self.arg_constraints):
            v = getattr(self, name, None)
            if isinstance(v, Tensor):
                shown = _shown(v.array) if v.array.size == 1 else repr(Size(v.shape))
                parts.append(f"{name}: {shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept inside (eps, 1 - eps) of their dtype, so their logarithms stay finite."""
    eps = float(np.finfo(probs.array.dtype).eps)
    return _ops.clamp(probs, eps, 1 - eps)
