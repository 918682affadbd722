"""Vector normalisation, cosine similarity and pairwise distances (metric learning, contrastive losses)."""
from __future__ import annotations

import numpy as np

from ember.ops import api as E
from ember.ops.distance import VectorNorm
from ember.tensor import Tensor

__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]


def norm_along(x: Tensor, p: float = 2.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    """The p-norm along ``dim`` (any p > 0 or inf), with a zero gradient at the zero vector."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"p must be a positive number (or inf), got {p!r}")
    return VectorNorm.apply(x, p=float(p), dim=E._dim(dim, x.ndim, x.shape), keepdim=keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``: unit vectors, and the zero vector stays zero."""
    return input / E.clamp(norm_along(input, p, dim, keepdim=True), min=eps)


def _floor_values(n: Tensor, eps: float) -> Tensor:
    """max(n, eps) in value while the gradient passes as if unclamped: what PyTorch's cosine_similarity does
    (it clamps the norms in place under no_grad)."""
    return n + Tensor._wrap(np.maximum(n.array, n.dtype.type(eps)) - n.array)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/‖x1‖)·(x2/‖x2‖) along ``dim`` (the norms floored at eps), the inputs broadcast together.
    Each input is divided by its own norm first, which keeps the result within [−1, 1]."""
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"cosine_similarity: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
                           f"broadcast") from None
    if tuple(x1.shape) != shape:
        x1 = x1.expand(*shape)
    if tuple(x2.shape) != shape:
        x2 = x2.expand(*shape)
    n1 = _floor_values(norm_along(x1, 2, dim, keepdim=True), eps)
    n2 = _floor_values(norm_along(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim=E._dim(dim, len(shape), shape))


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + eps‖_p over the last dimension (eps keeps the gradient finite for equal vectors)."""
    try:
        np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"pairwise_distance: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
                           f"broadcast") from None
    return norm_along(x1 - x2 + eps, p, -1, keepdim)
