"""Pooling in NCHW: max, average, adaptive average, and fractional max pooling (Graham 2014).

Windows are strided views of the padded input; both passes loop over the k·k
kernel taps (a handful of vectorised array operations), never over pixels, so
overlapping windows such as AlexNet's 3×3 stride 2 come out right for free.
"""
from __future__ import annotations

import numpy as np

from ember.backend import im2col as K
from ember.ops.conv import pair
from ember.tensor import Function


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, name):
    if x.ndim != 4:
        raise RuntimeError(f"{name} expects a 4-D input (N, C, H, W), got shape {x.shape}")
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None or stride == () or stride == [] else pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if ph > kh // 2 or pw > kw // 2:
        raise RuntimeError(f"{name}: padding {ph, pw} must be at most half the kernel size {kh, kw}")
    h, w = x.shape[2:]
    ho = K.out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = K.out_size(w, kw, sw, pw, dw, ceil_mode)
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"{name}: input of shape {x.shape} is too small for a {kh}x{kw} window")
    extra_h = max((ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph), 0)
    extra_w = max((wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw), 0)
    return kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, extra_h, extra_w


class MaxPool2d(Function):
    """out = max over each window. The gradient goes to the (first) maximal element of each window."""

    def forward(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
        kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = geo
        xp = K.pad2d(x, ph, pw, -np.inf, eh, ew)
        win = K.windows(xp, kh, kw, sh, sw, dh, dw, ho, wo)
        out = np.array(win[..., 0, 0])
        idx = np.zeros(out.shape, dtype=np.uint8 if kh * kw < 256 else np.int32)
        for t in range(1, kh * kw):
            tap = win[..., t // kw, t % kw]
            better = tap > out
            np.copyto(out, tap, where=better)
            np.copyto(idx, t, where=better)
        self.idx, self.geo, self.x_shape, self.xp_shape = idx, geo, x.shape, xp.shape
        return out

    def backward(self, g):
        kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = self.geo
        dxp = np.zeros(self.xp_shape, dtype=g.dtype)
        zero = np.zeros((), g.dtype)
        for t in range(kh * kw):
            dxp[K.tap_slice(t // kw, t % kw, sh, sw, dh, dw, ho, wo)] += np.where(self.idx == t, g, zero)
        return (K.unpad2d(dxp, ph, pw, *self.x_shape[2:]),)


def _avg_divisor(h, w, geo, count_include_pad, dtype):
    """How many elements each window averages: padding counts if asked, the ceil-mode overhang never does."""
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = geo
    mask = np.zeros((1, 1, h + 2 * ph + eh, w + 2 * pw + ew), dtype=dtype)
    if count_include_pad:
        mask[..., : h + 2 * ph, : w + 2 * pw] = 1
    else:
        mask[..., ph:ph + h, pw:pw + w] = 1
    return K.windows(mask, kh, kw, sh, sw, dh, dw, ho, wo).sum(axis=(-2, -1))


class AvgPool2d(Function):
    """out = mean over each window; backward spreads g/count evenly over the window."""

    def forward(self, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        geo = _geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
        kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = geo
        xp = K.pad2d(x, ph, pw, 0.0, eh, ew)
        win = K.windows(xp, kh, kw, sh, sw, 1, 1, ho, wo)
        if divisor_override:
            div = np.asarray(divisor_override, dtype=x.dtype)
        elif ph == pw == eh == ew == 0:
            div = np.asarray(kh * kw, dtype=x.dtype)
        else:
            div = _avg_divisor(x.shape[2], x.shape[3], geo, count_include_pad, x.dtype)
        out = np.array(win[..., 0, 0])
        for t in range(1, kh * kw):
            out += win[..., t // kw, t % kw]
        out /= div
        self.div, self.geo, self.x_shape, self.xp_shape = div, geo, x.shape, xp.shape
        return out

    def backward(self, g):
        kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = self.geo
        gd = g / self.div
        dxp = np.zeros(self.xp_shape, dtype=g.dtype)
        for t in range(kh * kw):
            dxp[K.tap_slice(t // kw, t % kw, sh, sw, 1, 1, ho, wo)] += gd
        return (K.unpad2d(dxp, ph, pw, *self.x_shape[2:]),)


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling bins: [floor(i·size/out), ceil((i+1)·size/out))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


class AdaptiveAvgPool2d(Function):
    """Average over bins that cover the input, whatever its size; 1×1 is global average pooling (NiN)."""

    def forward(self, x, output_size):
        if x.ndim != 4:
            raise RuntimeError(f"adaptive_avg_pool2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
        oh, ow = pair(output_size, "output_size")
        h, w = x.shape[2:]
        oh, ow = oh or h, ow or w
        self.x_shape = x.shape
        if h % oh == 0 and w % ow == 0:  # equal bins: one reshape-mean
            self.even = (h // oh, w // ow)
            return x.reshape(x.shape[0], x.shape[1], oh, h // oh, ow, w // ow).mean(axis=(3, 5))
        self.even = None
        self.bins = adaptive_bins(h, oh), adaptive_bins(w, ow)
        out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
        for i, (h0, h1) in enumerate(self.bins[0]):
            for j, (w0, w1) in enumerate(self.bins[1]):
                out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
        return out

    def backward(self, g):
        n, c, h, w = self.x_shape
        if self.even is not None:
            bh, bw = self.even
            gx = np.broadcast_to(g[:, :, :, None, :, None] / (bh * bw), (n, c, h // bh, bh, w // bw, bw))
            return (gx.reshape(n, c, h, w),)
        gx = np.zeros(self.x_shape, dtype=g.dtype)
        for i, (h0, h1) in enumerate(self.bins[0]):
            for j, (w0, w1) in enumerate(self.bins[1]):
                gx[:, :, h0:h1, w0:w1] += g[:, :, i:i + 1, j:j + 1] / ((h1 - h0) * (w1 - w0))
        return (gx,)


def fractional_intervals(size: int, out: int, k: int, u: float) -> np.ndarray:
    """Start indices of pseudo-random pooling regions (Graham 2014, as PyTorch draws them):
    α = (size − k)/(out − 1), start_i = ⌊(i + u)α⌋ − ⌊uα⌋, last start = size − k."""
    if out == 1:
        return np.array([size - k])
    alpha = (size - k) / (out - 1)
    starts = (np.floor((np.arange(out) + u) * alpha) - np.floor(u * alpha)).astype(np.int64)
    starts[-1] = size - k
    return starts


class FractionalMaxPool2d(Function):
    """Max over overlapping k×k windows whose starts are pseudo-random (given u ∈ [0,1) per axis),
    so the output size can shrink by a non-integer ratio such as √2."""

    def forward(self, x, kernel_size, output_size, u):
        kh, kw = pair(kernel_size, "kernel_size")
        oh, ow = pair(output_size, "output_size")
        n, c, h, w = x.shape
        if oh + kh - 1 > h or ow + kw - 1 > w:
            raise RuntimeError(f"fractional_max_pool2d: output {oh}x{ow} with kernel {kh}x{kw} is too large for input {h}x{w}")
        rows = fractional_intervals(h, oh, kh, float(u[0]))
        cols = fractional_intervals(w, ow, kw, float(u[1]))
        # gather all k·k taps: (N, C, oh, ow, kh·kw) flat indices into H·W
        ri = rows[:, None, None, None] + np.arange(kh)[None, None, :, None]
        ci = cols[None, :, None, None] + np.arange(kw)[None, None, None, :]
        flat = (ri * w + ci).reshape(oh, ow, kh * kw)
        vals = x.reshape(n, c, h * w)[:, :, flat]  # (N, C, oh, ow, k·k)
        arg = vals.argmax(axis=-1)
        self.src = np.take_along_axis(np.broadcast_to(flat, vals.shape), arg[..., None], -1)[..., 0]
        self.x_shape = x.shape
        return np.take_along_axis(vals, arg[..., None], -1)[..., 0]

    def backward(self, g):
        n, c, h, w = self.x_shape
        gx = np.zeros((n * c, h * w), dtype=g.dtype)
        rows = np.arange(n * c)[:, None]
        np.add.at(gx, (rows, self.src.reshape(n * c, -1)), g.reshape(n * c, -1))
        return (gx.reshape(self.x_shape),)
