"""The p-norm along one axis, the building block of normalize, cosine similarity and pairwise distances."""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


class VectorNorm(Function):
    """‖x‖_p = (Σ |x_i|^p)^(1/p) along ``dim`` (p = inf: max |x_i|).

    d‖x‖_p/dx_i = sign(x_i)·|x_i|^(p−1) / ‖x‖_p^(p−1) (p = 2: x_i/‖x‖; p = 1: sign(x_i)), taken as 0 where
    the norm is 0, PyTorch's subgradient (a composition of sqrt and squares would give 0·∞ = nan there):
    there x = 0, so dividing by 1 instead of the norm gives exactly that.
    """

    def forward(self, x, p=2.0, dim=-1, keepdim=False):
        a = np.abs(x)
        if p == np.inf:
            out = a.max(axis=dim, keepdims=True)
        elif p == 2:
            out = np.sqrt(np.sum(x * x, axis=dim, keepdims=True))
        elif p == 1:
            out = a.sum(axis=dim, keepdims=True)
        else:
            out = np.sum(a ** p, axis=dim, keepdims=True) ** (1.0 / p)
        out = out.astype(x.dtype, copy=False)
        self.x, self.out, self.p, self.dim, self.keepdim = x, out, p, dim, keepdim
        return out if keepdim else np.squeeze(out, axis=dim)

    def backward(self, g):
        x, n, p = self.x, self.out, self.p
        if not self.keepdim:
            g = np.expand_dims(g, self.dim)
        safe = np.where(n == 0, 1, n).astype(x.dtype, copy=False)
        if p == np.inf:
            a = np.abs(x)
            hit = (a == n) & (n > 0)
            d = np.sign(x) * hit / np.maximum(hit.sum(axis=self.dim, keepdims=True), 1)  # ties share, as PyTorch
        elif p == 2:
            d = x / safe
        elif p == 1:
            d = np.sign(x)
        else:
            d = np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)
        return ((g * d).astype(x.dtype, copy=False),)
