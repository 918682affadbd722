"""Normalisation ops (NOTES §6): batch norm as one fused Function, and AlexNet's local response norm.

Batch norm over the axes ``axes`` (every axis but the channel axis 1), ``m`` values per channel:

    μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²   (biased),   x̂ = (x − μ)/√(σ² + ε),   y = γ·x̂ + β

Closed-form backward (one pass, no graph of small ops), with ĝ = γ·g:

    dx = (1/√(σ² + ε)) · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂)),   dγ = Σ g·x̂,   dβ = Σ g

With fixed statistics (evaluation mode) it is an affine map: dx = g·γ/√(σ² + ε).
"""
from __future__ import annotations

import numpy as np

from ember.backend import batchnorm as B
from ember.tensor import Function


def channel_shape(x: np.ndarray) -> tuple:
    """Shape that broadcasts a per-channel vector against ``x`` (channels on axis 1)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def reduce_axes(x: np.ndarray) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


class BatchNorm(Function):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel; ``weight``/``bias`` may be None (affine=False).

    ``batch_stats=True``: μ, σ² are this batch's own statistics, computed here (ember/backend/batchnorm.py,
    a block of channels at a time) and reported through ``stats`` for the running estimates; the gradient
    flows through them (the training-mode backward above). ``False``: ``mean``/``var`` are constants (the
    running estimates) and batch norm is an affine map.
    """

    def forward(self, x, weight, bias, mean=None, var=None, eps=1e-5, batch_stats=True, stats=None):
        self.weight, self.batch_stats = weight, batch_stats
        if batch_stats:
            out, self.xhat, self.invstd, mu, v = B.train_forward(x, weight, bias, eps)
            if stats is not None:
                stats.update(mean=mu, var=v)
            return out
        cs = channel_shape(x)
        invstd = (1.0 / np.sqrt(var.astype(x.dtype, copy=False) + x.dtype.type(eps))).astype(x.dtype, copy=False)
        centred = x - mean.reshape(cs).astype(x.dtype, copy=False)
        self.invstd = invstd
        self.xhat = centred * invstd.reshape(cs) if self.needs_input_grad[1] else None  # for dγ only
        out = centred * (invstd if weight is None else invstd * weight).reshape(cs)
        if bias is not None:
            out += bias.reshape(cs)
        return out

    def backward(self, g):
        nx, nw, nb = self.needs_input_grad[:3]
        if self.batch_stats:
            gx, gw, gb = B.train_backward(g, self.xhat, self.invstd, self.weight, nx)
            return gx, (gw if nw else None), (gb if nb else None)
        cs, axes = channel_shape(g), reduce_axes(g)
        gw = (g * self.xhat).sum(axis=axes) if nw else None
        gb = g.sum(axis=axes) if nb else None
        gx = None
        if nx:
            scale = self.invstd if self.weight is None else self.invstd * self.weight
            gx = g * scale.reshape(cs)
        return gx, gw, gb


def _window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """s[c] = Σ a[c − before .. c + after] along axis 1 (zero outside): one vectorised add per offset
    (the window is small; a cumulative sum would lose precision to cancellation in float32)."""
    c = a.shape[1]
    out = a.copy()
    for off in range(1, max(before, after) + 1):
        if off <= before and off < c:  # a[c − off] contributes to s[c]
            out[:, off:] += a[:, :c - off]
        if off <= after and off < c:  # a[c + off]
            out[:, :c - off] += a[:, off:]
    return out


class LocalResponseNorm(Function):
    """AlexNet's lateral inhibition across channels (PyTorch's formula):

        b_c = a_c · s_c^(−β),   s_c = k + (α/n) Σ_{c' = c − ⌊n/2⌋}^{c + ⌊(n−1)/2⌋} a_{c'}²

    Backward: da_i = g_i·s_i^(−β) − (2αβ/n)·a_i · Σ_{j : i ∈ window(j)} g_j·a_j·s_j^(−β−1).
    """

    def forward(self, x, size, alpha=1e-4, beta=0.75, k=1.0):
        before, after = size // 2, (size - 1) // 2
        s = (k + (alpha / size) * _window_sum(x * x, before, after)).astype(x.dtype, copy=False)
        p = s ** -beta
        self.x, self.s, self.p, self.cfg = x, s, p, (size, alpha, beta, before, after)
        return x * p

    def backward(self, g):
        size, alpha, beta, before, after = self.cfg
        x, s, p = self.x, self.s, self.p
        t = g * x * p / s  # g_j·a_j·s_j^(−β−1)
        # j ranges over c − after .. c + before: the transposed window
        back = _window_sum(t, after, before)
        return (g * p - (2 * alpha * beta / size) * x * back,)
