"""Transposed convolution kernels on raw arrays (NCHW), built from the conv kernels of conv2d.py.

A transposed conv with weight W (C_in, C_out/groups, kH, kW) is the *adjoint* of the conv with that same
weight read as (C_out_conv = C_in, C_in_conv = C_out/groups, kH, kW): its forward is that conv's input
gradient, its input gradient is that conv's forward, and its weight gradient is that conv's weight
gradient with the roles of input and output gradient swapped. So no new GEMM code is needed.

Output size (PyTorch's rule): (H − 1)·s − 2p + d·(k − 1) + output_padding + 1. The forward computes the
uncropped ("full", padding 0) result, of height (H − 1)·s + d·(k − 1) + 1, and keeps rows p .. p + H_out:
output_padding extends that window at the bottom/right (into zeros where it passes the full result).
"""
from __future__ import annotations

import numpy as np

from ember.backend import conv2d as C


def out_size(size: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _crop(full: np.ndarray, ph: int, pw: int, ho: int, wo: int) -> np.ndarray:
    """Rows ph .. ph + ho and columns pw .. pw + wo of ``full``, zeros where that passes its end."""
    n, c, hf, wf = full.shape
    if ph + ho <= hf and pw + wo <= wf:
        return full[:, :, ph:ph + ho, pw:pw + wo]
    out = np.zeros((n, c, ho, wo), dtype=full.dtype)
    part = full[:, :, ph:ph + ho, pw:pw + wo]
    out[:, :, :part.shape[2], :part.shape[3]] = part
    return out


def forward(x: np.ndarray, w: np.ndarray, stride: tuple, padding: tuple, output_padding: tuple,
            dilation: tuple) -> np.ndarray:
    """One group: out (N, C_out, H_out, W_out) = the padding-cropped input gradient of conv(·, w)."""
    n, _, h, wd = x.shape
    kh, kw = w.shape[2:]
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    full_shape = (n, w.shape[1], out_size(h, kh, sh, 0, dh, 0), out_size(wd, kw, sw, 0, dw, 0))
    full = C.input_grad(x, w, full_shape, (sh, sw), (0, 0), (dh, dw))
    return _crop(full, ph, pw, out_size(h, kh, sh, ph, dh, oph), out_size(wd, kw, sw, pw, dw, opw))


def backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple, padding: tuple, dilation: tuple,
             need_x: bool, need_w: bool) -> tuple:
    """One group: dx = conv(g, w) (its output cropped to x's size: output_padding ≥ stride adds rows that
    no input pixel produced) and dW = the weight gradient of that conv with x as its output gradient."""
    h, wd = x.shape[2:]
    gx_full, cache = C.dense_forward(g, w, None, stride, padding, dilation)
    gx = gx_full[:, :, :h, :wd] if need_x else None
    gw = None
    if need_w:
        hh, ww = gx_full.shape[2:]
        xg = x if (hh, ww) == (h, wd) else np.pad(x, ((0, 0), (0, 0), (0, hh - h), (0, ww - wd)))
        gw = C.dense_backward(xg, cache, False, True, False)[1]
    return gx, gw
