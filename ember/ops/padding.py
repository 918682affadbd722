"""Non-constant padding ('reflect', 'replicate', 'circular') of the last axes, as one Function.

Every padded position reads one input position, so along each padded axis the op is a gather
out[..., j] = x[..., idx[j]] with idx from :func:`pad_index`. The backward is the scatter-add adjoint:
the interior slice comes back as it is and each border position (few: the padding widths) adds its
gradient into the input position it copied.
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


def pad_index(n: int, left: int, right: int, mode: str) -> np.ndarray:
    """Input index read by each of the left + n + right output positions of one axis."""
    j = np.arange(-left, n + right)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    j = np.abs(j)  # reflect about the first element (the edge itself is not repeated)
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


class IndexPad(Function):
    """out = x gathered along each padded axis; ``pads`` is ((axis, left, right), …)."""

    def forward(self, x, pads=(), mode="reflect"):
        self.pads = pads
        for axis, left, right in pads:
            x = np.take(x, pad_index(x.shape[axis], left, right, mode), axis=axis)
        self.mode = mode
        return x

    def backward(self, g):
        for axis, left, right in reversed(self.pads):
            n = g.shape[axis] - left - right
            idx = pad_index(n, left, right, self.mode)
            g = np.moveaxis(g, axis, -1)
            gx = g[..., left:left + n].copy()
            for j in list(range(left)) + list(range(left + n, left + n + right)):
                gx[..., idx[j]] += g[..., j]
            g = np.moveaxis(gx, -1, axis)
        return (g,)
