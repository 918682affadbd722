"""Gumbel-softmax: a differentiable stand-in for drawing a category (Jang et al. 2017; Maddison et al. 2017)."""
from __future__ import annotations

import warnings

import numpy as np

from ember import random as _random
from ember.ops import api as E
from ember.tensor import Tensor

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1, *,
                   generator=None) -> Tensor:
    """softmax((logits + G) / tau) along ``dim`` with G_i = −log E_i, E_i ~ Exp(1) (Gumbel(0, 1) noise).

    Why it works: argmax_i (logits_i + G_i) is a draw from softmax(logits) (the Gumbel-max trick); the softmax
    relaxes that argmax so gradients reach the logits, and ``tau`` → 0 makes the result approach the one-hot
    draw. ``hard=True`` returns the one-hot draw itself, y_hard − y_soft.detach() + y_soft: its value is one-hot
    and its gradient is the soft sample's (the straight-through estimator).

    ``eps`` is unused (PyTorch deprecated it and warns when it is set). The noise comes from ember's global
    generator, or from ``generator=`` (an ember addition: a stream of its own, as the other random functions
    take).
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    if not isinstance(logits, Tensor):
        raise TypeError(f"gumbel_softmax(): argument 'logits' must be a Tensor, not {type(logits).__name__}")
    if logits.dtype.kind != "f":
        raise RuntimeError(f"gumbel_softmax: logits must be a floating point tensor, got dtype {logits.dtype}")
    if logits.ndim == 0:  # one category: softmax over a length-1 axis
        return gumbel_softmax(logits.reshape(1), tau, hard, dim=0, generator=generator).reshape(())
    axis = E._dim(dim, logits.ndim, logits.shape)
    draw = np.float64 if logits.dtype == np.float64 else np.float32
    e = _random.numpy_rng(generator).standard_exponential(logits.shape, dtype=draw)
    with np.errstate(divide="ignore"):  # E = 0 (probability ~2⁻⁵³) gives G = +inf, as in PyTorch
        gumbels = Tensor._wrap((-np.log(e)).astype(logits.dtype, copy=False))
    y_soft = E.softmax((logits + gumbels) / tau, axis)
    if not hard:
        return y_soft
    index = np.expand_dims(np.argmax(y_soft.array, axis=axis), axis)
    y_hard = np.zeros(logits.shape, logits.dtype)
    np.put_along_axis(y_hard, index, 1, axis=axis)
    return Tensor._wrap(y_hard) - y_soft.detach() + y_soft
