"""Spatial transformer functions (Jaderberg et al. 2015) in PyTorch's conventions: :func:`affine_grid` makes a
sampling grid from a batch of 2×3 affine matrices and :func:`grid_sample` reads an NCHW input at the grid's
points; both are differentiable (w.r.t. theta, the grid and the input)."""
from __future__ import annotations

import numpy as np

from ember.ops import grid as G
from ember.tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _base_coords(steps: int, align_corners: bool, dtype) -> np.ndarray:
    """Normalised pixel coordinates along one axis: the pixel centres spread over [−1, 1]
    (``align_corners``: −1 + 2i/(n − 1); else (2i + 1)/n − 1). One pixel sits at 0."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype=dtype)
    c = np.linspace(-1.0, 1.0, steps, dtype=np.float64)
    if not align_corners:
        c = c * (steps - 1) / steps
    return c.astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool = False) -> Tensor:
    """The (N, H, W, 2) grid of (x, y) = θ · (x_t, y_t, 1) for every output pixel's normalised coordinates
    (x_t, y_t) (see :func:`grid_sample` for their convention); ``size`` is the output's (N, C, H, W).
    Differentiable w.r.t. ``theta`` (N, 2, 3)."""
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid: theta must be a Tensor, got {type(theta).__name__}")
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        if len(size) == 5:
            raise NotImplementedError("affine_grid: only 4-D sizes (N, C, H, W) are supported by ember")
        raise ValueError(f"affine_grid: size must be (N, C, H, W), got {size}")
    if theta.dtype.kind != "f":
        raise ValueError(f"affine_grid: expected theta to have a floating point dtype, got {theta.dtype}")
    n, _, h, w = size
    if theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"affine_grid: expected a batch of 2D affine matrices of shape Nx2x3 for size {size}, "
                         f"got theta of shape {theta.shape}")
    if theta.shape[0] != n:
        raise ValueError(f"affine_grid: theta of shape {theta.shape} has {theta.shape[0]} matrices but size {size} "
                         f"asks for N = {n}")
    if min(size) <= 0:
        raise ValueError(f"affine_grid: expected non-zero, positive output size, got {size}")
    xs, ys = _base_coords(w, align_corners, theta.dtype), _base_coords(h, align_corners, theta.dtype)
    base = np.empty((h, w, 3), dtype=theta.dtype)
    base[..., 0], base[..., 1], base[..., 2] = xs, ys[:, None], 1
    base = Tensor(base.reshape(1, h * w, 3))
    return (base @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """out[n, :, i, j] = input[n, :] read at the point grid[n, i, j] = (x, y) ∈ [−1, 1]²: x = −1 is the left
    edge of the leftmost pixel (its centre with ``align_corners=True``) and +1 the right edge of the rightmost
    (its centre). ``mode``: ``'bilinear'`` or ``'nearest'``; points outside read ``padding_mode``:
    ``'zeros'``, ``'border'`` (the edge pixel) or ``'reflection'`` (mirrored at the border). 4-D inputs;
    differentiable w.r.t. input and (bilinear) grid. ``align_corners=None`` means False, as in PyTorch."""
    if mode not in G.MODES:
        if mode == "bicubic":
            raise NotImplementedError("grid_sample: mode 'bicubic' is not supported by ember; use one of "
                                      f"{G.MODES}")
        raise ValueError(f"grid_sample: mode must be one of {G.MODES}, got {mode!r}")
    if padding_mode not in G.PADDING_MODES:
        raise ValueError(f"grid_sample: padding_mode must be one of {G.PADDING_MODES}, got {padding_mode!r}")
    if input.ndim == 5:
        raise NotImplementedError("grid_sample: only 4-D inputs (N, C, H, W) are supported by ember")
    return G.GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode, align_corners=bool(align_corners))
