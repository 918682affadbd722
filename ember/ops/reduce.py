"""Reductions. Backward re-inserts the reduced axes and broadcasts the gradient over them."""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


def normalize_dims(dim, ndim: int) -> tuple | None:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes; None means all."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} is out of range for a tensor with {ndim} dimensions")
        out.append(d % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand_back(g: np.ndarray, shape: tuple, dims: tuple | None, keepdim: bool) -> np.ndarray:
    """Reshape a reduced gradient so it broadcasts against the input ``shape``."""
    if dims is None:
        return np.reshape(g, (1,) * len(shape))
    if not keepdim:
        g = np.expand_dims(g, dims)
    return g


class Sum(Function):
    """z = Σ a over dims;  dz/da = 1 broadcast back."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dims, self.keepdim = a.shape, normalize_dims(dim, a.ndim), keepdim
        return np.sum(a, axis=self.dims, keepdims=keepdim)

    def backward(self, g):
        return (np.broadcast_to(_expand_back(g, self.shape, self.dims, self.keepdim), self.shape),)


class Mean(Function):
    """z = (1/n) Σ a;  dz/da = 1/n."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dims, self.keepdim = a.shape, normalize_dims(dim, a.ndim), keepdim
        out = np.mean(a, axis=self.dims, keepdims=keepdim)
        self.n = a.size // max(out.size, 1) if a.size else 1
        return out.astype(a.dtype, copy=False)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.dims, self.keepdim) / self.n
        return (np.broadcast_to(g, self.shape),)


class MaxMin(Function):
    """max/min over dims. Without ``dim`` ties share the gradient evenly (PyTorch's amax rule);
    with an integer ``dim`` the gradient goes to the element whose index is returned (the first)."""

    def forward(self, a, dim=None, keepdim=False, largest=True):
        self.shape, self.keepdim = a.shape, keepdim
        self.dims = normalize_dims(dim, a.ndim)
        self.single = isinstance(dim, (int, np.integer))
        red = np.max if largest else np.min
        out = red(a, axis=self.dims, keepdims=True)
        if self.single and a.ndim > 0:
            idx = (np.argmax if largest else np.argmin)(a, axis=self.dims[0])
            self.idx = np.expand_dims(idx, self.dims[0])
        else:
            mask = a == out
            self.mask = mask / mask.sum(axis=self.dims, keepdims=True)
        return out if keepdim else (out.reshape(()) if self.dims is None else np.squeeze(out, self.dims))

    def backward(self, g):
        g = _expand_back(g, self.shape, self.dims, self.keepdim)
        if self.single and len(self.shape) > 0:
            out = np.zeros(self.shape, dtype=g.dtype)
            np.put_along_axis(out, self.idx, g, axis=self.dims[0])
            return (out,)
        return ((g * self.mask).astype(g.dtype, copy=False),)


class Var(Function):
    """Var = Σ (a − ā)² / (n − c), c = 1 when unbiased;  dVar/da = 2(a − ā)/(n − c)."""

    def forward(self, a, dim=None, keepdim=False, correction=1):
        self.shape, self.dims, self.keepdim = a.shape, normalize_dims(dim, a.ndim), keepdim
        mean = np.mean(a, axis=self.dims, keepdims=True)
        self.centered = a - mean
        n = a.size // max(mean.size, 1)
        self.denom = max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sum(self.centered * self.centered, axis=self.dims, keepdims=keepdim) / self.denom
        return out.astype(a.dtype, copy=False)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.dims, self.keepdim)
        return ((2.0 / self.denom) * g * self.centered,) if self.denom else (np.full(self.shape, np.nan, g.dtype),)


class LogSumExp(Function):
    """z = m + ln Σ e^(a−m), m = max a (stable);  dz/da = softmax(a)."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dims, self.keepdim = a.shape, normalize_dims(dim, a.ndim), keepdim
        m = np.max(a, axis=self.dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        e = np.exp(a - m)
        s = np.sum(e, axis=self.dims, keepdims=True)
        self.softmax = e / s
        out = np.log(s) + m
        return out if keepdim else (out.reshape(()) if self.dims is None else np.squeeze(out, self.dims))

    def backward(self, g):
        return (_expand_back(g, self.shape, self.dims, self.keepdim) * self.softmax,)


class Prod(Function):
    """z = Π a;  dz/da_i = Π_{j≠i} a_j (computed without dividing, so zeros are handled)."""

    def forward(self, a, dim=None, keepdim=False):
        self.a = a
        self.shape, self.dims, self.keepdim = a.shape, normalize_dims(dim, a.ndim), keepdim
        if self.dims is not None and len(self.dims) != 1:
            raise ValueError("prod reduces over one dimension or all of them")
        return np.prod(a, axis=self.dims, keepdims=keepdim)

    def backward(self, g):
        a = self.a
        axis = 0 if self.dims is None else self.dims[0]
        flat = a.reshape(-1) if self.dims is None else a
        ones_shape = list(flat.shape)
        ones_shape[axis] = 1
        one = np.ones(ones_shape, a.dtype)
        left = np.cumprod(np.concatenate([one, np.take(flat, range(flat.shape[axis] - 1), axis=axis)], axis), axis=axis)
        rev = np.flip(flat, axis)
        rev_head = np.take(rev, range(flat.shape[axis] - 1), axis=axis)
        right = np.flip(np.cumprod(np.concatenate([one, rev_head], axis), axis=axis), axis)
        others = (left * right).reshape(a.shape)
        return (_expand_back(g, self.shape, self.dims, self.keepdim) * others,)


class CumSum(Function):
    """z_i = Σ_{j≤i} a_j along ``dim``;  dL/da_j = Σ_{i≥j} g_i, a reversed cumulative sum."""

    def forward(self, a, dim):
        self.dim = dim
        return np.cumsum(a, axis=dim, dtype=a.dtype)

    def backward(self, g):
        d = self.dim
        return (np.flip(np.cumsum(np.flip(g, d), axis=d), d),)


class CumProd(Function):
    """z_i = Π_{j≤i} a_j along ``dim``;  dL/da_k = Σ_{i≥k} g_i · Π_{j≤i, j≠k} a_j.

    Without zeros that is revcumsum(g·z)/a; a zero makes the division undefined, so then each position's
    product-without-itself is formed explicitly (quadratic in the length of ``dim``, as PyTorch does too).
    """

    def forward(self, a, dim):
        self.a, self.dim = a, dim
        self.out = np.cumprod(a, axis=dim, dtype=a.dtype)
        return self.out

    def backward(self, g):
        a, d = self.a, self.dim
        if a.size == 0:
            return (np.zeros_like(a),)
        if np.all(a != 0):
            gz = g * self.out
            return (np.flip(np.cumsum(np.flip(gz, d), axis=d), d) / a,)
        a_m, g_m = np.moveaxis(a, d, -1), np.moveaxis(g, d, -1)
        out = np.empty(a_m.shape, dtype=g.dtype)
        for k in range(a_m.shape[-1]):
            b = a_m.copy()
            b[..., k] = 1
            cp = np.cumprod(b[..., k:], axis=-1) * np.prod(b[..., :k], axis=-1, keepdims=True)
            out[..., k] = np.sum(g_m[..., k:] * cp, axis=-1)
        return (np.moveaxis(out, -1, d),)
