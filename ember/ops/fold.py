"""Unfold (im2col) and fold (col2im) with PyTorch's layout, as a pair of adjoint ops.

``unfold`` copies every kh×kw block of a zero-padded (N, C, H, W) input into a column:
  out[n, (c·kh + i)·kw + j, y·Wo + x] = x_pad[n, c, s_h·y + d_h·i, s_w·x + d_w·j]
(channel-major, then kernel rows, then kernel columns; the L = Ho·Wo blocks in row-major order).
``fold`` is its adjoint: it adds each column entry back into the pixel it names and drops the padding.
So each one's backward is the other (⟨unfold(x), c⟩ = ⟨x, fold(c)⟩). The block geometry (output sizes,
padded strided window views, per-tap slices) comes from ember/backend/im2col.py, shared with conv and pooling;
both kernels loop over the kh·kw taps only, never over pixels.
"""
from __future__ import annotations

import numpy as np

from ember.backend import im2col as K
from ember.tensor import Function

Pair = tuple[int, int]


def blocks(size: Pair, kernel: Pair, dilation: Pair, padding: Pair, stride: Pair) -> Pair:
    """Number of sliding blocks along H and W (PyTorch's rule; ≤ 0 when none fits)."""
    return (K.out_size(size[0], kernel[0], stride[0], padding[0], dilation[0]),
            K.out_size(size[1], kernel[1], stride[1], padding[1], dilation[1]))


def unfold_array(x: np.ndarray, kernel: Pair, dilation: Pair, padding: Pair, stride: Pair) -> np.ndarray:
    """(N, C, H, W) → (N, C·kh·kw, L): one copy from a strided view of the padded input."""
    n, c, h, w = x.shape
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    ho, wo = blocks((h, w), kernel, dilation, padding, stride)
    win = K.windows(K.pad2d(x, ph, pw), kh, kw, sh, sw, dh, dw, ho, wo)  # (N, C, Ho, Wo, kh, kw) view
    out = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    np.copyto(out, win.transpose(0, 1, 4, 5, 2, 3))
    return out.reshape(n, c * kh * kw, ho * wo)


def fold_array(cols: np.ndarray, size: Pair, kernel: Pair, dilation: Pair, padding: Pair,
               stride: Pair) -> np.ndarray:
    """(N, C·kh·kw, L) → (N, C, H, W): each tap's (N, C, Ho, Wo) slab added into the padded output through
    a strided slice (overlapping blocks sum), then the padding cut off."""
    n = cols.shape[0]
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    h, w = size
    ho, wo = blocks(size, kernel, dilation, padding, stride)
    c = cols.shape[1] // (kh * kw)
    taps = cols.reshape(n, c, kh, kw, ho, wo)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[K.tap_slice(i, j, sh, sw, dh, dw, ho, wo)] += taps[:, :, i, j]
    return K.unpad2d(out, ph, pw, h, w)


class Unfold(Function):
    """out = unfold(x) (see the module docstring); dx = fold(g) onto x's (H, W). A 3-D (C, H, W) input is
    one image and gives (C·kh·kw, L). The geometry arguments are pairs, checked by the caller."""

    def forward(self, x, kernel_size=(1, 1), dilation=(1, 1), padding=(0, 0), stride=(1, 1)):
        self.geo = (kernel_size, dilation, padding, stride)
        self.unbatched = x.ndim == 3
        self.size = x.shape[-2:]
        out = unfold_array(x[None] if self.unbatched else x, *self.geo)
        return out[0] if self.unbatched else out

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return (None,)
        gx = fold_array(g[None] if self.unbatched else g, self.size, *self.geo)
        return (gx[0] if self.unbatched else gx,)


class Fold(Function):
    """out = fold(c) onto ``output_size`` (see the module docstring); dc = unfold(g). A 2-D (C·kh·kw, L) input
    is one image and gives (C, H, W). The geometry arguments are pairs, checked by the caller."""

    def forward(self, cols, output_size=(1, 1), kernel_size=(1, 1), dilation=(1, 1), padding=(0, 0),
                stride=(1, 1)):
        self.geo = (kernel_size, dilation, padding, stride)
        self.unbatched = cols.ndim == 2
        out = fold_array(cols[None] if self.unbatched else cols, output_size, *self.geo)
        return out[0] if self.unbatched else out

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return (None,)
        gc = unfold_array(g[None] if self.unbatched else g, *self.geo)
        return (gc[0] if self.unbatched else gc,)
