"""The continuous uniform distribution on [low, high)."""
from __future__ import annotations

import numpy as np

from ember.distributions.distribution import BroadcastParameter, Distribution, broadcast_all, broadcast_shape
from ember.ops import api as _ops
from ember.tensor import Tensor

__all__ = ["Uniform"]


class Uniform(Distribution):
    """``Uniform(low, high)``: density 1/(high − low) on [low, high).

    ``rsample`` is ``low + (high − low)·u`` with u ~ U[0, 1) drawn apart from the bounds, so draws are
    differentiable in ``low`` and ``high``.
    """

    arg_constraints = {"low": (None, "low < high"), "high": (None, "high > low")}  # see _check_args
    has_rsample = True
    low = BroadcastParameter()
    high = BroadcastParameter()

    def __init__(self, low, high, validate_args: bool | None = None) -> None:
        self._low, self._high = broadcast_all(low, high, expand=False)
        super().__init__(broadcast_shape(self._low, self._high), (), validate_args)

    def _check_args(self) -> None:
        """The bounds' constraint involves both, so it is one comparison rather than one check per parameter."""
        low, high = np.broadcast_arrays(self._low.array, self._high.array)
        bad = ~(low < high)
        if bad.any():
            raise ValueError(f"Expected parameter low (Tensor of shape {tuple(self.low.shape)}) of distribution "
                             f"{self!r} to satisfy the constraint low < high, but found low >= high at "
                             f"{np.argwhere(bad).tolist() if bad.ndim else 'the only element'}: low="
                             f"{low[bad].tolist()}, high={high[bad].tolist()}")

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = Tensor._wrap(self._rng().random(shape).astype(self._low.array.dtype, copy=False))
        return self.low + u * (self.high - self.low)

    def _support_check(self, value: np.ndarray):
        return (self._low.array <= value) & (value <= self._high.array), "Interval(lower_bound=low, upper_bound=high)"

    def log_prob(self, value: Tensor) -> Tensor:
        """−log(high − low) inside [low, high), −inf outside (reachable with validate_args=False)."""
        if self._validate_args:
            self._validate_sample(value)
        v = value.array if isinstance(value, Tensor) else np.asarray(value)
        inside = (self._low.array <= v) & (self._high.array > v)
        return _ops.where(inside, -_ops.log(self.high - self.low), float("-inf"))

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return _ops.clamp((value - self.low) / (self.high - self.low), 0, 1)

    def icdf(self, value: Tensor) -> Tensor:
        return self.low + value * (self.high - self.low)

    def entropy(self) -> Tensor:
        return _ops.log(self.high - self.low)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * float("nan")  # every point of the interval is a mode (PyTorch answers nan)

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12
