"""Resampling the last two axes by separable linear maps: nearest, (bi)linear and bicubic interpolation.

Every such resize is out = A_h · x · A_wᵀ, where row i of the (H_out × H) matrix A_h holds the weights
with which output row i mixes the input rows (one 1 for nearest; λ₀ and λ₁ on two neighbours for
linear; four cubic-convolution weights for cubic; a widened, normalised filter when antialiasing). The backward is the adjoint, dx = A_hᵀ · g · A_w, so one Function serves every mode and both
align_corners conventions: only the matrices differ (:func:`interp_matrix`).
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


def source_scale(in_size: int, out_size: int, scale, align_corners: bool, dtype) -> np.floating:
    """PyTorch's ``area_pixel_compute_scale`` in the input's float type: with align_corners the corner
    pixels map onto each other, (in − 1)/(out − 1); else 1/scale_factor when one was given, in/out if not."""
    t = np.dtype(dtype).type
    if align_corners:
        return t(in_size - 1) / t(out_size - 1) if out_size > 1 else t(0)
    if scale is not None and scale > 0:
        return t(1.0 / scale)
    return t(in_size) / t(out_size)


def cubic_weights(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution weights of the four neighbours ⌊src⌋ − 1 … ⌊src⌋ + 2 at fraction t = src − ⌊src⌋,
    shape t.shape + (4,). The kernel is W(d) = (a+2)|d|³ − (a+3)|d|² + 1 for |d| ≤ 1, a|d|³ − 5a|d|² + 8a|d| − 4a
    for 1 < |d| < 2 (0 beyond); a = −0.75 is PyTorch's (and OpenCV's) choice, sharper than Keys' −0.5. The
    four weights sum to one, so constants are kept."""
    t = np.asarray(t)

    def near(d):  # |d| ≤ 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1).astype(t.dtype, copy=False)


def _antialias_matrix(in_size: int, out_size: int, mode: str, s, dtype) -> np.ndarray:
    """PyTorch's antialiased resampling (as Pillow's): when shrinking by s > 1 the filter (triangle for linear,
    cubic with a = −0.5 for cubic) is stretched by s, so every input pixel contributes; each output i reads the
    pixels within the filter's support around centre s·(i + ½) and the weights are normalised to sum to one
    (which also handles the borders)."""
    s = float(s)
    half = (1.0 if mode == "linear" else 2.0) * (s if s >= 1.0 else 1.0)  # the filter's half width
    inv = 1.0 / s if s >= 1.0 else 1.0
    centre = s * (np.arange(out_size) + 0.5)
    lo = np.maximum(np.trunc(centre - half + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(centre + half + 0.5).astype(np.int64), in_size)
    j = np.arange(in_size)
    d = np.abs((j[None, :] - centre[:, None] + 0.5) * inv)
    if mode == "linear":
        w = np.maximum(1.0 - d, 0.0)
    else:
        a = -0.5
        w = np.where(d < 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                     np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0))
    w = np.where((j[None, :] >= lo[:, None]) & (j[None, :] < hi[:, None]), w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total != 0).astype(dtype)


def interp_matrix(in_size: int, out_size: int, mode: str, scale=None, align_corners: bool = False,
                  dtype=np.float32, antialias: bool = False) -> np.ndarray:
    """The (out_size × in_size) resampling matrix of one axis, following PyTorch's source-index formulas:

    - nearest:        src = min(⌊i·s⌋, in − 1)
    - nearest-exact:  src = min(⌊(i + ½)·s⌋, in − 1)
    - linear:         src = i·s with align_corners, else max((i + ½)·s − ½, 0); weights 1 − λ and λ on
                      ⌊src⌋ and ⌊src⌋ + 1 (clamped to the last pixel), λ = src − ⌊src⌋
    - cubic:          src = i·s with align_corners, else (i + ½)·s − ½ (not clamped); the weights of
                      :func:`cubic_weights` on ⌊src⌋ − 1 … ⌊src⌋ + 2, each index clamped into [0, in − 1]
                      (the border pixel is repeated outwards)
    - ``antialias`` (linear, cubic): see :func:`_antialias_matrix`.
    """
    t = np.dtype(dtype).type
    s = source_scale(in_size, out_size, scale, align_corners and mode in ("linear", "cubic"), dtype)
    if antialias:
        return _antialias_matrix(in_size, out_size, mode, s, dtype)
    i = np.arange(out_size, dtype=dtype)
    a = np.zeros((out_size, in_size), dtype=dtype)
    rows = np.arange(out_size)
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((i + t(0.5)) * s if mode == "nearest-exact" else i * s).astype(np.int64)
        a[rows, np.minimum(src, in_size - 1)] = 1
        return a
    if mode == "cubic":
        src = i * s if align_corners else (i + t(0.5)) * s - t(0.5)
        i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        lam = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
        cols = np.clip(i0[:, None] + np.arange(-1, 3), 0, in_size - 1)
        np.add.at(a, (rows[:, None], cols), cubic_weights(lam))
        return a
    src = i * s if align_corners else np.maximum((i + t(0.5)) * s - t(0.5), t(0))
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = np.minimum(i0 + 1, in_size - 1)
    np.add.at(a, (rows, i0), 1 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


class Resample2d(Function):
    """out = A_h · x · A_wᵀ over the last two axes of x;  dx = A_hᵀ · g · A_w."""

    def forward(self, x, ah=None, aw=None):
        self.ah, self.aw = ah, aw
        return np.matmul(np.matmul(ah, x), aw.T)

    def backward(self, g):
        return (np.matmul(np.matmul(self.ah.T, g), self.aw),)
