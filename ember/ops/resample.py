"""Resampling the last two axes by separable linear maps: nearest and (bi)linear interpolation.

Every such resize is out = A_h · x · A_wᵀ, where row i of the (H_out × H) matrix A_h holds the weights
with which output row i mixes the input rows (one 1 for nearest; λ₀ and λ₁ on two neighbours for
linear). The backward is the adjoint, dx = A_hᵀ · g · A_w, so one Function serves every mode and both
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


def interp_matrix(in_size: int, out_size: int, mode: str, scale=None, align_corners: bool = False,
                  dtype=np.float32) -> np.ndarray:
    """The (out_size × in_size) resampling matrix of one axis, following PyTorch's source-index formulas:

    - nearest:        src = min(⌊i·s⌋, in − 1)
    - nearest-exact:  src = min(⌊(i + ½)·s⌋, in − 1)
    - linear:         src = i·s with align_corners, else max((i + ½)·s − ½, 0); weights 1 − λ and λ on
                      ⌊src⌋ and ⌊src⌋ + 1 (clamped to the last pixel), λ = src − ⌊src⌋
    """
    t = np.dtype(dtype).type
    s = source_scale(in_size, out_size, scale, align_corners and mode == "linear", dtype)
    i = np.arange(out_size, dtype=dtype)
    a = np.zeros((out_size, in_size), dtype=dtype)
    rows = np.arange(out_size)
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((i + t(0.5)) * s if mode == "nearest-exact" else i * s).astype(np.int64)
        a[rows, np.minimum(src, in_size - 1)] = 1
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
