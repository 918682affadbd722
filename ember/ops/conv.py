"""2-D convolution (cross-correlation, as in every framework) in NCHW.

Forward: ``out[n] = W · im2col(x)[n] + b`` — one batched matrix multiply.
Backward (NOTES §1: the error of a conv is a convolution of the upstream error):
  dW = Σ_n g[n] · cols[n]ᵀ,   db = Σ_{n,h,w} g,   dx = col2im(Wᵀ · g).
Groups split channels into independent convolutions (depthwise when groups == C_in).
"""
from __future__ import annotations

import numpy as np

from ember.backend import im2col as K
from ember.tensor import Function


def pair(v, name: str = "value") -> tuple[int, int]:
    """An int or a pair of ints as a pair of ints (stride=2 means (2, 2))."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


class Conv2d(Function):
    """out[n, o] = b[o] + W[o] · cols[n] per group; see the module docstring for the backward formulas."""

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        if x.ndim != 4:
            raise RuntimeError(f"conv2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
        if w.ndim != 4:
            raise RuntimeError(f"conv2d expects a 4-D weight (C_out, C_in/groups, kH, kW), got shape {w.shape}")
        n, c, h, wd = x.shape
        cout, cg, kh, kw = w.shape
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise RuntimeError(f"conv2d: groups must be a positive integer, got {groups!r}")
        if cg * groups != c:
            raise RuntimeError(
                f"conv2d: input of shape {x.shape} has {c} channels but weight of shape {w.shape} "
                f"with groups={groups} expects {cg * groups} input channels (C_in/groups = {cg})"
            )
        if cout % groups:
            raise RuntimeError(
                f"conv2d: weight of shape {w.shape} has {cout} output channels, which groups={groups} does not divide"
            )
        if b is not None and b.shape != (cout,):
            raise RuntimeError(
                f"conv2d: bias of shape {b.shape} does not match weight of shape {w.shape}: expected ({cout},)"
            )
        sh, sw = pair(stride, "stride")
        ph, pw = pair(padding, "padding")
        dh, dw = pair(dilation, "dilation")
        if min(sh, sw) < 1 or min(dh, dw) < 1 or min(ph, pw) < 0:
            raise RuntimeError(f"conv2d: stride {sh, sw} and dilation {dh, dw} must be positive and padding "
                               f"{ph, pw} non-negative")
        ho, wo = K.out_size(h, kh, sh, ph, dh), K.out_size(wd, kw, sw, pw, dw)
        if ho <= 0 or wo <= 0:
            raise RuntimeError(
                f"conv2d: input of shape {x.shape} is too small for weight of shape {w.shape} "
                f"(padding {ph, pw}, dilation {dh, dw}); the output would be {ho}x{wo}"
            )
        xp = K.pad2d(x, ph, pw)
        cols = K.im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo)  # (N, C·k·k, L)
        g = groups
        og, kk = cout // g, cg * kh * kw
        wg = w.reshape(g, og, kk)
        colsg = cols.reshape(n, g, kk, ho * wo)
        out = np.matmul(wg, colsg).reshape(n, cout, ho, wo)  # (N, g, Og, L)
        if b is not None:
            out += b.reshape(1, cout, 1, 1)
        self.cols, self.w = colsg, wg
        self.geom = (x.shape, xp.shape, c, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, g, og, kk)
        self.has_bias = b is not None
        return out

    def backward(self, grad):
        x_shape, xp_shape, c, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, g, og, kk = self.geom
        n = x_shape[0]
        nx, nw = self.needs_input_grad[:2]
        nb = self.has_bias and self.needs_input_grad[2]
        g3 = grad.reshape(n, g, og, ho * wo)
        gx = gw = gb = None
        if nw:
            cols_t = np.swapaxes(self.cols, -1, -2)  # (N, g, L, kk)
            if g == 1:
                # one large GEMM over the whole batch: (Og, N·L) @ (N·L, kk)
                gw = np.tensordot(g3[:, 0], self.cols[:, 0], axes=([0, 2], [0, 2]))
            else:
                gw = np.matmul(g3, cols_t).sum(axis=0)
            gw = gw.reshape(g * og, c // g, kh, kw)
        if nb:
            gb = grad.sum(axis=(0, 2, 3))
        if nx:
            dcols = np.matmul(np.swapaxes(self.w, -1, -2), g3)  # (N, g, kk, L)
            dxp = K.col2im(dcols.reshape(n, c * kh * kw, ho * wo), xp_shape, c, kh, kw, sh, sw, dh, dw, ho, wo)
            gx = K.unpad2d(dxp, ph, pw, x_shape[2], x_shape[3])
        return gx, gw, gb
