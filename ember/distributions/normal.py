"""The normal (Gaussian) distribution N(loc, scale²)."""
from __future__ import annotations

import math

import numpy as np

from ember.distributions.distribution import (
    LOG_SQRT_2PI, BroadcastParameter, Distribution, broadcast_all, broadcast_shape,
)
from ember.ops import api as _ops
from ember.tensor import Tensor

__all__ = ["Normal"]


class Normal(Distribution):
    """``Normal(loc, scale)``: density exp(−(x − loc)² / 2scale²) / (scale·√(2π)).

    ``rsample`` is ``loc + scale·ε`` with ε ~ N(0, 1) drawn apart from the parameters, so the draw is a
    differentiable function of ``loc`` and ``scale`` (the reparameterisation trick of VAEs).
    """

    arg_constraints = {
        "loc": (lambda a: ~np.isnan(a), "Real()"),
        "scale": (lambda a: a > 0, "GreaterThan(lower_bound=0.0)"),
    }
    has_rsample = True
    loc = BroadcastParameter()
    scale = BroadcastParameter()

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self._loc, self._scale = broadcast_all(loc, scale, expand=False)
        super().__init__(broadcast_shape(self._loc, self._scale), (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = Tensor._wrap(self._rng().standard_normal(shape).astype(self._loc.array.dtype, copy=False))
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(x) = −(x − loc)² / 2scale² − log scale − log √(2π)."""
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - _ops.log(self.scale) - LOG_SQRT_2PI

    def cdf(self, value: Tensor) -> Tensor:
        """Φ((x − loc)/scale) = ½(1 + erf((x − loc) / (scale·√2)))."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + _ops.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def entropy(self) -> Tensor:
        """½ + ½·log(2π) + log scale."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + _ops.log(self.scale)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2
