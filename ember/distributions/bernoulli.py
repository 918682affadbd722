"""The Bernoulli distribution: 1 with probability ``probs``, else 0."""
from __future__ import annotations

from functools import cached_property

import numpy as np

from ember.distributions.distribution import Distribution, broadcast_all, clamp_probs
from ember.nn.functional import softplus
from ember.ops import api as _ops
from ember.tensor import Tensor

__all__ = ["Bernoulli"]


class Bernoulli(Distribution):
    """``Bernoulli(probs=None, logits=None)``: exactly one of them, ``probs = sigmoid(logits)``.

    The one not given is derived from the other on first use, by differentiable ops (as PyTorch's lazy
    properties), so gradients reach whichever parameter the distribution was built from. Draws are 0./1.
    in the parameters' floating dtype; they are discrete, so there is no ``rsample``.
    """

    arg_constraints = {
        "probs": (lambda a: (a >= 0) & (a <= 1), "Interval(lower_bound=0.0, upper_bound=1.0)"),
        "logits": (lambda a: ~np.isnan(a), "Real()"),
    }
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            param = self.logits
        self._param, self._given = param, ("probs" if probs is not None else "logits",)
        super().__init__(param.shape, (), validate_args)

    @cached_property
    def probs(self) -> Tensor:  # set in __init__ when given, else derived here once
        return _ops.sigmoid(self.logits)

    @cached_property
    def logits(self) -> Tensor:
        p = clamp_probs(self.probs)
        return _ops.log(p) - _ops.log1p(-p)

    @property
    def param_shape(self):
        return self._param.shape

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs.array, shape)
        return Tensor._wrap((self._rng().random(shape) < p).astype(self._param.array.dtype))

    def _support_check(self, value: np.ndarray):
        return (value == 0) | (value == 1), "Boolean()"

    def log_prob(self, value: Tensor) -> Tensor:
        """x·logits − softplus(logits): log p for x = 1, log(1 − p) for x = 0, stable for any logit."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return value * logits - softplus(logits)

    def entropy(self) -> Tensor:
        """softplus(logits) − p·logits = −p log p − (1 − p) log(1 − p)."""
        return softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = Tensor._wrap(np.arange(2, dtype=self._param.array.dtype).reshape((-1,) + (1,) * len(self.batch_shape)))
        return _ops.broadcast_to(values, (2,) + tuple(self.batch_shape)) if expand else values

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        p = self.probs.array
        return Tensor._wrap(np.where(p == 0.5, np.nan, (p >= 0.5)).astype(p.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)
