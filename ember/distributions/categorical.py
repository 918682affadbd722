"""The categorical distribution over {0, ..., K−1}, K the size of the last parameter dimension."""
from __future__ import annotations

from functools import cached_property

import numpy as np

from ember.distributions.distribution import Distribution, clamp_probs
from ember.ops import api as _ops
from ember.tensor import Tensor

__all__ = ["Categorical"]


def _simplex(a: np.ndarray) -> np.ndarray:
    return (a >= 0).all(-1) & (np.abs(a.sum(-1) - 1) < 1e-6)


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None)``: exactly one of them, categories along the last dimension.

    ``probs`` need only be non-negative (they are divided by their sum); ``logits`` are unnormalised log
    probabilities (``logsumexp`` is subtracted). Both are normalised by differentiable ops, so ``log_prob``
    and ``entropy`` carry gradients to the parameter given. Draws are int64 category indices.
    """

    arg_constraints = {
        "probs": (_simplex, "Simplex()"),
        "logits": (lambda a: ~np.isnan(a).any(-1), "IndependentConstraint(Real(), 1)"),
    }
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        name = "probs" if probs is not None else "logits"
        if not isinstance(given, Tensor):
            raise ValueError(f"`{name}` must be a Tensor, got {type(given).__name__}")
        if given.ndim < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param, self._given = self.__dict__[name], (name,)
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], (), validate_args)

    @cached_property
    def probs(self) -> Tensor:  # set in __init__ when given, else derived here once
        return _ops.softmax(self.logits, -1)

    @cached_property
    def logits(self) -> Tensor:
        return _ops.log(clamp_probs(self.probs))

    @property
    def param_shape(self):
        return self._param.shape

    def sample(self, sample_shape=()) -> Tensor:
        """Inverse-CDF draws: the category whose cumulative-probability interval holds a uniform number."""
        shape = self._extended_shape(sample_shape)
        cdf = np.cumsum(self.probs.array.astype(np.float64), axis=-1)
        cdf /= cdf[..., -1:]  # the last entry exactly 1, so no draw runs past the last category
        u = self._rng().random(tuple(shape) + (1,))
        idx = (np.broadcast_to(cdf, tuple(shape) + (self._num_events,)) <= u).sum(-1)
        return Tensor._wrap(np.minimum(idx, self._num_events - 1).astype(np.int64))

    def _support_check(self, value: np.ndarray):
        return (value % 1 == 0) & (value >= 0) & (value <= self._num_events - 1), \
            f"IntegerInterval(lower_bound=0, upper_bound={self._num_events - 1})"

    def log_prob(self, value: Tensor) -> Tensor:
        """logits[..., value]: the normalised log probability of each category index."""
        if self._validate_args:
            self._validate_sample(value)
        v = value.array.astype(np.int64)[..., None]
        shape = np.broadcast_shapes(v.shape, self.logits.shape)
        index = Tensor._wrap(np.ascontiguousarray(np.broadcast_to(v, shape[:-1] + (1,))))
        log_pmf = self.logits if self.logits.shape == shape else _ops.broadcast_to(self.logits, shape)
        return _ops.gather(log_pmf, -1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        """−Σ p·log p (logits clamped to the dtype's most negative value, so p = 0 adds 0, not nan)."""
        min_real = float(np.finfo(self.logits.array.dtype).min)
        return -(_ops.clamp(self.logits, min_real) * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = Tensor._wrap(np.arange(self._num_events, dtype=np.int64).reshape(
            (-1,) + (1,) * len(self.batch_shape)))
        return _ops.broadcast_to(values, (self._num_events,) + tuple(self.batch_shape)) if expand else values

    @property
    def mean(self) -> Tensor:
        return Tensor._wrap(np.full(self._extended_shape(), np.nan, dtype=self.probs.array.dtype))

    @property
    def mode(self) -> Tensor:
        return Tensor._wrap(self.probs.array.argmax(-1).astype(np.int64))

    @property
    def variance(self) -> Tensor:
        return Tensor._wrap(np.full(self._extended_shape(), np.nan, dtype=self.probs.array.dtype))
