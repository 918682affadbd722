"""Embedding lookup: rows of a weight matrix picked by integer indices."""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


class Embedding(Function):
    """out[…] = W[idx[…]];  dW[k] = Σ_{idx = k} g (÷ the count of k in the batch with ``scale_grad_by_freq``),
    and no gradient for the row ``padding_idx``. ``index`` is an integer array, not differentiable."""

    def forward(self, w, index=None, padding_idx=None, scale_grad_by_freq=False):
        self.index, self.rows, self.padding_idx, self.by_freq = index, w.shape[0], padding_idx, scale_grad_by_freq
        return w[index]

    def backward(self, g):
        dim = g.shape[-1]
        flat = self.index.reshape(-1)
        gw = np.zeros((self.rows, dim), dtype=g.dtype)
        np.add.at(gw, flat, g.reshape(-1, dim))
        if self.by_freq:
            counts = np.bincount(flat, minlength=self.rows)
            gw /= np.maximum(counts, 1).astype(g.dtype)[:, None]
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)
