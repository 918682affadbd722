"""``cdist``: the p-norm distance between every row of one batch of point sets and every row of another.

x1 (…, P, M) and x2 (…, R, M) give d (…, P, R) with d_ij = ‖x1_i − x2_j‖_p; the batch dimensions broadcast.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from ember.tensor import Function, Tensor, unbroadcast

__all__ = ["cdist"]

_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1, "donot_use_mm_for_euclid_dist": 2}
_CHUNK = 1 << 22  # elements of the (…, rows, R, M) difference block built at once: bounds the memory used


def _row_blocks(batch: tuple, p: int, r: int, m: int):
    """Slices of the P rows such that each (…, rows, R, M) block of differences stays near ``_CHUNK`` elements."""
    per_row = max(int(np.prod(batch, dtype=np.int64)) * r * m, 1)
    step = max(_CHUNK // per_row, 1)
    for start in range(0, p, step):
        yield slice(start, min(start + step, p))


def _pnorm(diff: np.ndarray, p: float) -> np.ndarray:
    """‖diff‖_p over the last axis; p = 0 counts the non-zero differences."""
    a = np.abs(diff)
    if p == 0:
        return np.count_nonzero(diff, axis=-1).astype(diff.dtype)
    if p == 1:
        return a.sum(axis=-1)
    if p == 2:
        return np.sqrt((diff * diff).sum(axis=-1))
    if p == np.inf:
        return a.max(axis=-1)
    return (a ** p).sum(axis=-1) ** (1.0 / p)


def _dpnorm(diff: np.ndarray, dist: np.ndarray, g: np.ndarray, p: float) -> np.ndarray:
    """g · ∂d/∂diff for one block: sign(diff)·|diff|^(p−1) / d^(p−1) (p = 1: sign(diff); p = ∞: sign(diff) where
    |diff| = d, every tie in full). Zero where d = 0, and for p < 1 where diff = 0 (|0|^(p−1) is infinite):
    PyTorch's choices."""
    dist, g = dist[..., None], g[..., None]
    if p == 1:
        return np.sign(diff) * g
    if p == np.inf:
        return np.sign(diff) * (np.abs(diff) == dist) * g
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.sign(diff) * np.abs(diff) ** (p - 1) * (g / dist ** (p - 1))
    return np.where((dist == 0) | (diff == 0), 0, d)


class CDist(Function):
    """d_ij = ‖x1_i − x2_j‖_p = (Σ_k |x1_ik − x2_jk|^p)^(1/p) (p = 0: the number of k with x1_ik ≠ x2_jk;
    p = ∞: max_k |x1_ik − x2_jk|).

    Backward: ∂d_ij/∂x1_i = sign(δ)·|δ|^(p−1) / d_ij^(p−1) with δ = x1_i − x2_j, and ∂d_ij/∂x2_j is its negative;
    0 where d_ij = 0 (PyTorch's subgradient) and for p = 0. For p = 2 that is δ/d_ij, so
    dL/dx1_i = x1_i·Σ_j ρ_ij − Σ_j ρ_ij·x2_j with ρ = g/d: two matrix products, no (P, R, M) block.

    ``use_mm`` (p = 2 only) computes d² = ‖x1‖² − 2·x1·x2ᵀ + ‖x2‖² with one matrix product, as PyTorch does for
    more than 25 rows: faster and lighter, but cancellation loses precision for points close together (float32:
    ~1e-3 absolute), and d² is clamped at 0 before the square root.
    """

    def forward(self, x1, x2, p=2.0, use_mm=False):
        batch = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
        a = np.broadcast_to(x1, batch + x1.shape[-2:])
        b = np.broadcast_to(x2, batch + x2.shape[-2:])
        if any(self.needs_input_grad):
            self.x1, self.x2, self.p = x1, x2, p
        P, R, M = a.shape[-2], b.shape[-2], a.shape[-1]
        if M == 0 or P == 0 or R == 0:
            out = np.zeros(batch + (P, R), x1.dtype)
        elif use_mm:
            # one product of [−2·x1, ‖x1‖², 1] and [x2, 1, ‖x2‖²]: PyTorch's arrangement, so the rounding is alike
            n1 = (a * a).sum(axis=-1, keepdims=True)
            n2 = (b * b).sum(axis=-1, keepdims=True)
            lhs = np.concatenate([-2 * a, n1, np.ones_like(n1)], axis=-1)
            rhs = np.concatenate([b, np.ones_like(n2), n2], axis=-1)
            out = np.sqrt(np.maximum(lhs @ np.swapaxes(rhs, -1, -2), 0))
        else:
            out = np.empty(batch + (P, R), x1.dtype)
            for rows in _row_blocks(batch, P, R, M):
                out[..., rows, :] = _pnorm(a[..., rows, None, :] - b[..., None, :, :], p)
        out = out.astype(x1.dtype, copy=False)
        if any(self.needs_input_grad):
            self.out = out
        return out

    def backward(self, g):
        x1, x2, p, dist = self.x1, self.x2, self.p, self.out
        batch = dist.shape[:-2]
        a = np.broadcast_to(x1, batch + x1.shape[-2:])
        b = np.broadcast_to(x2, batch + x2.shape[-2:])
        if p == 0 or a.shape[-1] == 0 or dist.size == 0:
            return np.zeros_like(x1), np.zeros_like(x2)
        if p == 2:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(dist == 0, 0, g / dist).astype(g.dtype, copy=False)
            ga = a * ratio.sum(axis=-1)[..., None] - ratio @ b
            gb = b * ratio.sum(axis=-2)[..., None] - np.swapaxes(ratio, -1, -2) @ a
        else:
            ga = np.zeros(a.shape, g.dtype)
            gb = np.zeros(b.shape, g.dtype)
            for rows in _row_blocks(batch, a.shape[-2], b.shape[-2], a.shape[-1]):
                d = _dpnorm(a[..., rows, None, :] - b[..., None, :, :], dist[..., rows, :], g[..., rows, :], p)
                ga[..., rows, :] = d.sum(axis=-2)
                gb -= d.sum(axis=-3)
        return (unbroadcast(ga, x1.shape).astype(x1.dtype, copy=False),
                unbroadcast(gb, x2.shape).astype(x2.dtype, copy=False))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise p-norm distances: x1 (…, P, M), x2 (…, R, M) → (…, P, R), the batch dimensions broadcast.

    ``p``: any number ≥ 0, or ``float('inf')``. ``compute_mode`` (p = 2 only) as PyTorch's:
    ``'use_mm_for_euclid_dist_if_necessary'`` uses the matrix-product form when P > 25 or R > 25,
    ``'use_mm_for_euclid_dist'`` always, ``'donot_use_mm_for_euclid_dist'`` never (exact differences; choose it
    when points can be very close and the precision matters). The gradient at zero distance is 0.
    """
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"cdist(): argument '{name}' must be a Tensor, not {type(x).__name__}")
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name.upper()} got: {x.ndim}D "
                               f"(shape {tuple(x.shape)})")
        if x.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name.upper()} got: {x.dtype}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]} (shapes {tuple(x1.shape)} and {tuple(x2.shape)})")
    if isinstance(p, bool) or not isinstance(p, Real) or not p >= 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got p={p!r}")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode (expected one of "
                         f"{', '.join(_MODES)})")
    try:
        np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    except ValueError:
        raise RuntimeError(f"cdist: the batch dimensions {tuple(x1.shape[:-2])} of x1 and {tuple(x2.shape[:-2])} "
                           f"of x2 do not broadcast (shapes {tuple(x1.shape)} and {tuple(x2.shape)})") from None
    p = float(p)
    mode = _MODES[compute_mode]
    use_mm = p == 2 and (mode == 1 or (mode == 0 and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    return CDist.apply(x1, x2, p=p, use_mm=use_mm)
