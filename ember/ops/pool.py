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
    if min(kh, kw) < 1 or min(sh, sw) < 1 or min(dh, dw) < 1 or min(ph, pw) < 0:
        raise RuntimeError(f"{name}: kernel_size {kh, kw}, stride {sh, sw} and dilation {dh, dw} must be positive "
                           f"and padding {ph, pw} non-negative")
    if ph > kh // 2 or pw > kw // 2:
        raise RuntimeError(f"{name}: padding {ph, pw} must be at most half the kernel size {kh, kw}")
    h, w = x.shape[2:]
    ho = K.out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = K.out_size(w, kw, sw, pw, dw, ceil_mode)
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"{name}: input of shape {x.shape} is too small for a {kh}x{kw} window "
                           f"(padding {ph, pw}, dilation {dh, dw}); the output would be {ho}x{wo}")
    extra_h = max((ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph), 0)
    extra_w = max((wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw), 0)
    return kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, extra_h, extra_w


class MaxPool2d(Function):
    """out = max over each window. The gradient goes to the (first) maximal element of each window."""

    def forward(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
        kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = geo
        self.geo, self.x_shape = geo, x.shape
        if (kh, kw) == (sh, sw) == (2, 2) and ph == pw == eh == ew == 0 and dh == dw == 1 and x.shape[2] % 2 == 0 \
                and x.shape[3] % 2 == 0:
            return self._forward_2x2(x)
        self.fast = False
        xp = K.pad2d(x, ph, pw, -np.inf, eh, ew)
        win = K.windows(xp, kh, kw, sh, sw, dh, dw, ho, wo)
        out = np.array(win[..., 0, 0])
        idx = np.zeros(out.shape, dtype=np.uint8 if kh * kw < 256 else np.int32)
        for t in range(1, kh * kw):
            tap = win[..., t // kw, t % kw]
            better = tap > out
            np.copyto(out, tap, where=better)
            np.copyto(idx, t, where=better)
        self.idx, self.xp_shape = idx, xp.shape
        return out

    def _forward_2x2(self, x):
        """The common 2×2/stride-2 case on four de-interleaved taps (first max wins ties).

        Elementwise ops on stride-2 views run 5–10× slower than on contiguous
        arrays, so the four taps of every window are first copied apart (one
        pass at copy speed); the maxima, the masks that record which tap won,
        and the backward's gradient pieces then all run on contiguous arrays.
        Work happens in the input's memory order (NCHW or the convs' CNHW).
        """
        self.fast = True
        if not self.needs_input_grad[0]:  # inference: three maxima on the strided views, nothing to record
            n, c, h, w = x.shape
            xr = x.reshape(n, c, h // 2, 2, w // 2, 2)
            out = np.maximum(xr[:, :, :, 0, :, 0], xr[:, :, :, 0, :, 1])
            return np.maximum(out, np.maximum(xr[:, :, :, 1, :, 0], xr[:, :, :, 1, :, 1]), out=out)
        self.cnhw = not x.flags.c_contiguous and x.transpose(1, 0, 2, 3).flags.c_contiguous
        y = x.transpose(1, 0, 2, 3) if self.cnhw else np.ascontiguousarray(x)
        p, q, h, w = y.shape
        taps = np.empty((2, 2, p, q, h // 2, w // 2), dtype=y.dtype)
        y6 = y.reshape(p, q, h // 2, 2, w // 2, 2)
        for i in range(2):
            for j in range(2):
                np.copyto(taps[i, j], y6[:, :, :, i, :, j])
        (a, b), (c, d) = taps
        top, bottom = np.maximum(a, b), np.maximum(c, d)
        self.ab, self.cd, self.tb = a >= b, c >= d, top >= bottom
        out = np.maximum(top, bottom, out=top)
        return out.transpose(1, 0, 2, 3) if self.cnhw else out

    def _backward_2x2(self, g):
        gq = np.ascontiguousarray(g.transpose(1, 0, 2, 3) if self.cnhw else g)
        p, q, h2, w2 = gq.shape
        g_top = np.multiply(gq, self.tb)
        g_bottom = np.subtract(gq, g_top)
        dy = np.empty((p, q, h2, 2, w2, 2), dtype=gq.dtype)
        for row, gr, first in ((0, g_top, self.ab), (1, g_bottom, self.cd)):
            left = np.multiply(gr, first)
            dy[:, :, :, row, :, 0] = left
            dy[:, :, :, row, :, 1] = np.subtract(gr, left, out=gr)
        dy = dy.reshape(p, q, 2 * h2, 2 * w2)
        return (dy.transpose(1, 0, 2, 3) if self.cnhw else dy,)

    def backward(self, g):
        if self.fast:
            return self._backward_2x2(g)
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


def adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    """The (out, size) averaging matrix of adaptive pooling along one axis: row i holds 1/|bin i| on bin i,
    bin i = [⌊i·size/out⌋, ⌈(i+1)·size/out⌉). Bins may overlap when size is not a multiple of out."""
    i = np.arange(out)
    start = (i * size) // out
    end = -(-((i + 1) * size) // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """Average over bins that cover the input, whatever its size; 1×1 is global average pooling (NiN).

    With the per-axis averaging matrices A_h (oh×H) and A_w (ow×W) (see :func:`adaptive_matrix`):
    out = A_h · x · A_wᵀ per channel, and dx = A_hᵀ · g · A_w. When the bins tile the input evenly
    this is a plain reshape-mean.
    """

    def forward(self, x, output_size):
        oh, ow = adaptive_size(x, output_size, "adaptive_avg_pool2d")
        h, w = x.shape[2:]
        self.x_shape = x.shape
        if h % oh == 0 and w % ow == 0:  # equal bins: one reshape-mean
            self.even = (h // oh, w // ow)
            return x.reshape(x.shape[0], x.shape[1], oh, h // oh, ow, w // ow).mean(axis=(3, 5))
        self.even = None
        self.ah, self.aw = adaptive_matrix(h, oh, x.dtype), adaptive_matrix(w, ow, x.dtype)
        return np.matmul(np.matmul(self.ah, x), self.aw.T)

    def backward(self, g):
        n, c, h, w = self.x_shape
        if self.even is not None:
            bh, bw = self.even
            gx = np.broadcast_to(g[:, :, :, None, :, None] / (bh * bw), (n, c, h // bh, bh, w // bw, bw))
            return (gx.reshape(n, c, h, w),)
        return (np.matmul(np.matmul(self.ah.T, g), self.aw),)


def fractional_intervals(size: int, out: int, k: int, u: np.ndarray) -> np.ndarray:
    """Start indices of pseudo-random pooling regions (Graham 2014, as PyTorch draws them), for every
    sample u ∈ [0, 1) at once: α = (size − k)/(out − 1), start_i = ⌊(i + u)α⌋ − ⌊uα⌋, last start = size − k.

    ``u`` has any shape S; the result has shape S + (out,). The arithmetic is done in u's dtype, as
    PyTorch does it in the input's dtype, so the same samples give the same regions.
    """
    u = np.asarray(u)
    starts = np.empty(u.shape + (out,), dtype=np.int64)
    if out > 1:
        dtype = u.dtype if u.dtype.kind == "f" else np.float64
        alpha = dtype.type(size - k) / dtype.type(out - 1)
        i = np.arange(out - 1, dtype=dtype)
        starts[..., :-1] = (np.floor((i + u[..., None]) * alpha) - np.floor(u[..., None] * alpha)).astype(np.int64)
    starts[..., -1] = size - k
    return starts


def fractional_indices(x: np.ndarray, kernel_size, output_size, samples: np.ndarray) -> np.ndarray:
    """Flat (h·W + w) index of the maximum of every fractional pooling window, shape (N, C, oh, ow).

    ``samples`` broadcasts to (N, C, 2): per plane, u for the width (…, 0) and for the height (…, 1), PyTorch's
    layout. Ties go to the first maximum in row-major window order.
    """
    if x.ndim != 4:
        raise RuntimeError(f"fractional_max_pool2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
    kh, kw = pair(kernel_size, "kernel_size")
    oh, ow = pair(output_size, "output_size")
    n, c, h, w = x.shape
    if min(kh, kw, oh, ow) < 1:
        raise RuntimeError(f"fractional_max_pool2d: kernel_size {kh, kw} and output_size {oh, ow} must be positive")
    if oh + kh - 1 > h or ow + kw - 1 > w:
        raise RuntimeError(f"fractional_max_pool2d: output {oh}x{ow} with kernel {kh}x{kw} is too large for input "
                           f"{h}x{w} (need output + kernel − 1 ≤ input)")
    samples = np.asarray(samples)
    try:
        samples = np.broadcast_to(samples, (n, c, 2))
    except ValueError:
        raise RuntimeError(f"fractional_max_pool2d: samples of shape {samples.shape} do not broadcast to "
                           f"(N, C, 2) = {(n, c, 2)}") from None
    rows = fractional_intervals(h, oh, kh, samples[..., 1])  # (N, C, oh)
    cols = fractional_intervals(w, ow, kw, samples[..., 0])  # (N, C, ow)
    # every tap of every window: (N, C, oh, ow, kh, kw) flat indices into H·W
    ri = rows[:, :, :, None, None, None] + np.arange(kh)[:, None]
    ci = cols[:, :, None, :, None, None] + np.arange(kw)
    flat = (ri * w + ci).reshape(n, c, oh * ow * kh * kw)
    vals = np.take_along_axis(x.reshape(n, c, h * w), flat, axis=2).reshape(n, c, oh, ow, kh * kw)
    arg = vals.argmax(axis=-1)[..., None]
    return np.take_along_axis(flat.reshape(n, c, oh, ow, kh * kw), arg, axis=-1)[..., 0]


class FractionalMaxPool2d(Function):
    """Max over overlapping k×k windows whose starts are pseudo-random (Graham 2014), so the output can
    shrink by a non-integer ratio such as √2. ``index`` (from :func:`fractional_indices`) says where each
    window's maximum sits: out = x.flat[index]; backward adds g into those positions (windows overlap)."""

    def forward(self, x, index):
        n, c, h, w = x.shape
        self.x_shape, self.index = x.shape, index
        return np.take_along_axis(x.reshape(n, c, h * w), index.reshape(n, c, -1), axis=2).reshape(index.shape)

    def backward(self, g):
        return (_scatter_into_planes(g, self.x_shape, self.index),)


def _scatter_into_planes(g: np.ndarray, x_shape: tuple, index: np.ndarray) -> np.ndarray:
    """Zeros of ``x_shape`` with g[n, c, k] added at flat position index[n, c, k] of plane (n, c): the gradient of
    a per-plane gather (positions may repeat)."""
    n, c, h, w = x_shape
    gx = np.zeros((n, c, h * w), dtype=g.dtype)
    planes = np.arange(n)[:, None, None], np.arange(c)[None, :, None]
    np.add.at(gx, planes + (index.reshape(n, c, -1),), g.reshape(n, c, -1))
    return gx.reshape(x_shape)


def adaptive_size(x: np.ndarray, output_size, name: str) -> tuple[int, int]:
    """``output_size`` (an int or a pair, ``None`` keeping that input size) as a checked pair of ints."""
    if x.ndim != 4:
        raise RuntimeError(f"{name} expects a 4-D input (N, C, H, W), got shape {x.shape}")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
        oh, ow = output_size
    else:
        oh = ow = output_size
    oh, ow = x.shape[2] if oh is None else int(oh), x.shape[3] if ow is None else int(ow)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{name}: output_size must be positive, got {output_size!r}")
    return oh, ow


def adaptive_max_pool2d_indices(x: np.ndarray, output_size) -> np.ndarray:
    """Flat (h·W + w) index in its (H, W) plane of the maximum of every adaptive bin (:func:`adaptive_bins`),
    shape (N, C, oh, ow), as PyTorch's ``return_indices=True`` gives them (for :class:`MaxUnpool2d`): the first
    maximum in row-major bin order wins ties, and a bin holding nan points at its last nan, as PyTorch's
    ``val > max || isnan(val)`` scan does. Overlapping bins may share an index. One vectorised argmax per
    output cell."""
    oh, ow = adaptive_size(x, output_size, "adaptive_max_pool2d")
    n, c, h, w = x.shape
    index = np.empty((n, c, oh, ow), dtype=np.int64)
    for i, (h0, h1) in enumerate(adaptive_bins(h, oh)):
        for j, (w0, w1) in enumerate(adaptive_bins(w, ow)):
            win = x[:, :, h0:h1, w0:w1].reshape(n, c, -1)
            arg = win.argmax(axis=2)
            if x.dtype.kind == "f":
                nan = np.isnan(win)
                if nan.any():
                    arg = np.where(nan.any(axis=2), win.shape[2] - 1 - nan[:, :, ::-1].argmax(axis=2), arg)
            bw = w1 - w0
            index[:, :, i, j] = (h0 + arg // bw) * w + w0 + arg % bw
    return index


class AdaptiveMaxPool2d(Function):
    """Max over the adaptive bins of :func:`adaptive_bins` (they may overlap): out = x.flat[index] per plane with
    the index of :func:`adaptive_max_pool2d_indices`, so the gradient goes to the first maximum of each bin in
    row-major order, as in PyTorch (added up where overlapping bins share it)."""

    def forward(self, x, output_size):
        index = adaptive_max_pool2d_indices(x, output_size)
        n, c = x.shape[:2]
        self.x_shape, self.index = x.shape, index
        return np.take_along_axis(x.reshape(n, c, -1), index.reshape(n, c, -1), axis=2).reshape(index.shape)

    def backward(self, g):
        return (_scatter_into_planes(g, self.x_shape, self.index),)


def max_pool2d_indices(x: np.ndarray, kernel_size, stride=None, padding=0, dilation=1,
                       ceil_mode=False) -> np.ndarray:
    """Flat (h·W + w) index in its (H, W) plane of the maximum of every max-pooling window, shape
    (N, C, oh, ow), as PyTorch's ``return_indices=True`` gives them: the first maximum in row-major
    window order wins ties; padding (−∞) never wins. Tap t of the window at (i, j) sits at row
    i·sh − ph + dh·(t // kw), column j·sw − pw + dw·(t % kw)."""
    geo = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, eh, ew = geo
    win = K.windows(K.pad2d(x, ph, pw, -np.inf, eh, ew), kh, kw, sh, sw, dh, dw, ho, wo)
    best = np.array(win[..., 0, 0])
    tap = np.zeros(best.shape, dtype=np.int64)
    for t in range(1, kh * kw):
        v = win[..., t // kw, t % kw]
        better = v > best
        np.copyto(best, v, where=better)
        np.copyto(tap, t, where=better)
    rows = np.arange(ho)[:, None] * sh - ph + dh * (tap // kw)
    cols = np.arange(wo) * sw - pw + dw * (tap % kw)
    return rows * x.shape[3] + cols


# Gathering x.flat[index] per (N, C) plane, with the scatter-add backward, is what FractionalMaxPool2d does;
# max pooling with return_indices reuses it.
PlaneGather = FractionalMaxPool2d


def unpool_size(in_size, kernel_size, stride, padding, output_size, name="max_unpool2d") -> tuple[int, int]:
    """The output (H, W) of max unpooling: (in − 1)·s − 2p + k per axis, or ``output_size`` (its last two
    entries), which must lie within a stride of that default."""
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    default = ((in_size[0] - 1) * sh - 2 * ph + kh, (in_size[1] - 1) * sw - 2 * pw + kw)
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in output_size)
        if len(size) in (3, 4):
            size = size[-2:]
        if len(size) != 2:
            raise ValueError(f"{name}: output_size must have 2, 3 or 4 entries (the last two are H, W), "
                             f"got {tuple(output_size)}")
        for d, (s, st) in enumerate(zip(size, (sh, sw))):
            if not default[d] - st < s < default[d] + st:
                raise ValueError(f"{name}: invalid output_size {size}: dimension {d} must lie strictly between "
                                 f"{default[d] - st} and {default[d] + st} (the default size is {default})")
    if min(size) < 1:
        raise ValueError(f"{name}: the output size {size} must be positive")
    return size


class MaxUnpool2d(Function):
    """The partial inverse of max pooling (SegNet's decoder): out is zero except out[n, c].flat[index[n, c, i, j]]
    = x[n, c, i, j]. Backward gathers: dx[n, c, i, j] = g[n, c].flat[index[n, c, i, j]]."""

    def forward(self, x, index, output_size):
        if x.ndim != 4:
            raise RuntimeError(f"max_unpool2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
        if index.shape != x.shape:
            raise RuntimeError(f"max_unpool2d: indices of shape {index.shape} must have the input's shape {x.shape}")
        if index.dtype.kind not in "iu":
            raise RuntimeError(f"max_unpool2d: indices must be integers, got dtype {index.dtype}")
        n, c = x.shape[:2]
        oh, ow = output_size
        flat = index.reshape(n, c, -1)
        bad = flat[(flat < 0) | (flat >= oh * ow)]
        if bad.size:
            raise RuntimeError(f"max_unpool2d: found an invalid max index {int(bad[0])} (output volumes are of "
                               f"size {oh}x{ow})")
        out = np.zeros((n, c, oh * ow), dtype=x.dtype)
        np.put_along_axis(out, flat, x.reshape(n, c, -1), axis=2)
        self.flat, self.x_shape = flat, x.shape
        return out.reshape(n, c, oh, ow)

    def backward(self, g):
        n, c = self.x_shape[:2]
        gx = np.take_along_axis(g.reshape(n, c, -1), self.flat, axis=2).reshape(self.x_shape)
        return gx, None
