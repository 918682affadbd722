"""Dropout-family op: multiply by a fixed random mask (NOTES §7).

The mask is drawn by the caller (from ``ember.random.generator()``) and already carries the
inverted-dropout scale 1/(1 − p), so y = x ⊙ mask and dx = g ⊙ mask. The mask may broadcast
(shape (N, C, 1, 1) drops whole channels; (N, 1, …) whole samples, as stochastic depth does).
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


class MaskedScale(Function):
    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask, None


def keep_mask(shape: tuple, p: float, dtype) -> np.ndarray:
    """Bernoulli(1 − p) keep-mask scaled by 1/(1 − p) (all zeros when p = 1)."""
    from ember import random as _random

    if p >= 1.0:
        return np.zeros(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    keep = _random.generator().random(shape) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
