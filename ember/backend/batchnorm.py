"""Training-mode batch norm on raw arrays, a block of channels at a time.

Batch norm is a handful of passes over the activation (mean, variance, normalise, scale and shift;
two sums and the closed-form dx in backward). Over a whole ResNet-20 activation (4 MB) every pass
streams from memory, on one core. Here each block of channels (about ``CHUNK_BYTES``) runs all of
its passes while it is still in cache, and the blocks are spread over ember's threads: channels are
independent, so each block writes only its own slice of every output.

Formulas (NOTES §6), per channel over the m values of the batch and spatial axes:
    μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
    dx = (γ/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ g·x̂,  dβ = Σ g
"""
from __future__ import annotations

import numpy as np

from ember.backend import threads

CHUNK_BYTES = 1 << 20


def _channel_blocks(x: np.ndarray) -> list[tuple[int, int]]:
    c = x.shape[1]
    return threads.split(c, x.nbytes // max(c, 1), CHUNK_BYTES)


def _axes(x: np.ndarray) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def train_forward(x: np.ndarray, weight, bias, eps: float):
    """(y, x̂, 1/√(σ² + ε), μ, σ²) with this batch's statistics (σ² biased, as used to normalise)."""
    c, nd, axes = x.shape[1], x.ndim, _axes(x)
    out, xhat = np.empty_like(x), np.empty_like(x)
    mean, var, invstd = (np.empty(c, dtype=x.dtype) for _ in range(3))
    eps = x.dtype.type(eps)

    def block(s, e):
        sl = (slice(None), slice(s, e))
        xc = x[sl]
        mu = xc.mean(axis=axes, keepdims=True)
        d = np.subtract(xc, mu, out=xhat[sl])
        v = np.mean(d * d, axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(v + eps)
        np.multiply(d, inv, out=d)  # x̂
        y = out[sl]
        if weight is not None:
            np.multiply(d, _per_channel(weight[s:e], nd), out=y)
        else:
            np.copyto(y, d)
        if bias is not None:
            y += _per_channel(bias[s:e], nd)
        mean[s:e], var[s:e], invstd[s:e] = mu.reshape(-1), v.reshape(-1), inv.reshape(-1)

    threads.map_chunks(block, _channel_blocks(x))
    return out, xhat, invstd, mean, var


def train_backward(g: np.ndarray, xhat: np.ndarray, invstd: np.ndarray, weight, need_x: bool):
    """(dx or None, dγ, dβ) for batch statistics; dγ and dβ are needed for dx anyway."""
    nd, axes = g.ndim, _axes(g)
    m = g.size // g.shape[1]
    c = g.shape[1]
    gw, gb = np.empty(c, dtype=g.dtype), np.empty(c, dtype=g.dtype)
    gx = np.empty_like(g) if need_x else None

    def block(s, e):
        sl = (slice(None), slice(s, e))
        gc, xh = g[sl], xhat[sl]
        sb = gc.sum(axis=axes, keepdims=True)
        sw = (gc * xh).sum(axis=axes, keepdims=True)
        gb[s:e], gw[s:e] = sb.reshape(-1), sw.reshape(-1)
        if need_x:
            scale = invstd[s:e] if weight is None else invstd[s:e] * weight[s:e]
            t = np.multiply(xh, sw / m)
            np.subtract(gc, t, out=t)
            t -= sb / m
            np.multiply(t, _per_channel(scale, nd), out=gx[sl])

    threads.map_chunks(block, _channel_blocks(g))
    return gx, gw, gb
