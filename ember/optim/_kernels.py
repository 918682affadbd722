"""Small in-place array kernels shared by the optimizers."""
from __future__ import annotations

import numpy as np


def lerp_(a: np.ndarray, b: np.ndarray, weight: float, tmp: np.ndarray) -> np.ndarray:
    """``a ← a + weight·(b − a)`` in place (an exponential moving average step), using ``tmp`` as scratch.

    For weight >= 0.5 it is written as ``b − (b − a)·(1 − weight)``, which is
    the more accurate form there (PyTorch's ``lerp`` does the same).
    """
    w = a.dtype.type(weight)
    np.subtract(b, a, out=tmp)
    if w < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1 - w
        np.subtract(b, tmp, out=a)
    return a


def moments_(v: np.ndarray, r: np.ndarray, d: np.ndarray, beta1: float, beta2: float, tmp: np.ndarray) -> None:
    """Adam's running moments in place: ``v ← β1·v + (1 − β1)·d`` and ``r ← β2·r + (1 − β2)·d⊙d`` (``tmp`` is
    scratch of d's shape)."""
    lerp_(v, d, 1 - beta1, tmp)
    r *= beta2
    np.multiply(d, 1 - beta2, out=tmp)
    tmp *= d
    r += tmp
