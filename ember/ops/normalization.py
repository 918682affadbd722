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


# --------------------------------------------------------------------------- per-sample normalisation
# Layer, group and instance norm standardise each row of a 2-D (or 3-D) view of the input instead of each
# channel over the batch. With x̂ = (x − μ)/√(σ² + ε) over a row of K values and ĝ = γ·g:
#     dx = (1/√(σ² + ε)) · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))   (row means),   dγ = Σ g·x̂,   dβ = Σ g


def standardize(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x̂ and 1/√(σ² + ε) of every row (last axis) of ``x2``: two passes (the mean, accumulated in float64,
    then the centred squares), which stays accurate in float32 when the mean is large compared with the
    spread (a float32 sum of 10⁴-sized values would lose the mean's last digits, and σ² with them)."""
    mu = x2.mean(axis=-1, keepdims=True, dtype=np.float64)
    mu_hi = mu.astype(x2.dtype)
    centred = x2 - mu_hi  # exact for values near the mean; the mean's rounding error comes off next
    centred -= (mu - mu_hi).astype(x2.dtype)
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    invstd = (1.0 / np.sqrt(var + x2.dtype.type(eps))).astype(x2.dtype, copy=False)
    centred *= invstd
    return centred, invstd


def standardize_backward(gh2: np.ndarray, xhat2: np.ndarray, invstd: np.ndarray) -> np.ndarray:
    """dx of the rows of :func:`standardize` given ĝ (the gradient at x̂), in one fused expression."""
    a = gh2.mean(axis=-1, keepdims=True)
    b = np.mean(gh2 * xhat2, axis=-1, keepdims=True)
    return invstd * (gh2 - a - xhat2 * b)


class LayerNorm(Function):
    """y = γ ⊙ (x − μ)/√(σ² + ε) + β with μ, σ² (biased) over the last ``ndim`` axes of each sample;
    γ and β (None when absent) have the shape of those axes. Backward: see the formulas above."""

    def forward(self, x, weight, bias, ndim=1, eps=1e-5):
        k = int(np.prod(x.shape[x.ndim - ndim:]))
        xhat2, invstd = standardize(x.reshape(-1, k), eps)
        self.xhat, self.invstd, self.weight, self.ndim = xhat2.reshape(x.shape), invstd, weight, ndim
        out = self.xhat if weight is None else self.xhat * weight
        if bias is not None:
            out = out + bias
        return out if out is not self.xhat else out.copy()

    def backward(self, g):
        nx, nw, nb = self.needs_input_grad[:3]
        lead = tuple(range(g.ndim - self.ndim))
        gw = (g * self.xhat).sum(axis=lead) if nw else None
        gb = g.sum(axis=lead) if nb else None
        gx = None
        if nx:
            gh = g if self.weight is None else g * self.weight
            k = self.invstd.shape[0]
            gx = standardize_backward(gh.reshape(k, -1), self.xhat.reshape(k, -1), self.invstd).reshape(g.shape)
        return gx, gw, gb


class GroupNorm(Function):
    """y = γ_c · (x − μ_g)/√(σ_g² + ε) + β_c: statistics over each group of C/G channels (and all spatial
    positions) of each sample, affine per channel (γ, β of shape (C,) or None). G = C is instance norm."""

    def forward(self, x, weight, bias, num_groups=1, eps=1e-5):
        n = x.shape[0]
        xhat2, invstd = standardize(x.reshape(n, num_groups, -1), eps)
        self.xhat, self.invstd, self.weight, self.groups = xhat2.reshape(x.shape), invstd, weight, num_groups
        cs = channel_shape(x)
        out = self.xhat if weight is None else self.xhat * weight.reshape(cs)
        if bias is not None:
            out = out + bias.reshape(cs)
        return out if out is not self.xhat else out.copy()

    def backward(self, g):
        nx, nw, nb = self.needs_input_grad[:3]
        axes, cs = reduce_axes(g), channel_shape(g)
        gw = (g * self.xhat).sum(axis=axes) if nw else None
        gb = g.sum(axis=axes) if nb else None
        gx = None
        if nx:
            gh = g if self.weight is None else g * self.weight.reshape(cs)
            n, k = g.shape[0], self.groups
            gx = standardize_backward(gh.reshape(n, k, -1), self.xhat.reshape(n, k, -1), self.invstd)
            gx = gx.reshape(g.shape)
        return gx, gw, gb


class RMSNorm(Function):
    """y = γ ⊙ x/√(mean(x²) + ε), the mean over the last ``ndim`` axes of each sample (Zhang & Sennrich 2019);
    γ (None when absent) has the shape of those axes. With x̂ = x·r, r = 1/√(mean(x²) + ε) and ĝ = γ·g:
        dx = r · (ĝ − x̂ · mean(ĝ·x̂)),   dγ = Σ g·x̂ over the leading axes."""

    def forward(self, x, weight, ndim=1, eps=1e-6):
        k = int(np.prod(x.shape[x.ndim - ndim:]))
        x2 = x.reshape(-1, k)
        ms = np.mean(np.square(x2, dtype=np.float64), axis=-1, keepdims=True)
        r = (1.0 / np.sqrt(ms + eps)).astype(x.dtype)
        self.xhat, self.r, self.weight, self.ndim = (x2 * r).reshape(x.shape), r, weight, ndim
        return self.xhat.copy() if weight is None else self.xhat * weight

    def backward(self, g):
        nx, nw = self.needs_input_grad[:2]
        gw = (g * self.xhat).sum(axis=tuple(range(g.ndim - self.ndim))) if nw else None
        gx = None
        if nx:
            gh = g if self.weight is None else g * self.weight
            n = self.r.shape[0]
            gh2, xh2 = gh.reshape(n, -1), self.xhat.reshape(n, -1)
            gx = (self.r * (gh2 - xh2 * np.mean(gh2 * xh2, axis=-1, keepdims=True))).reshape(g.shape)
        return gx, gw
