"""Pooling in NCDHW (video, volumes): max, average, adaptive average and adaptive max.

Windows are strided views of the padded input (ember/backend/conv3d.py); both passes loop over the
kd·kh·kw kernel taps, a handful of vectorised array operations each, never over voxels, so overlapping
windows come out right for free. Ties go to the first maximum in row-major window order and a nan wins
(the last nan of a window), as PyTorch's ``val > max || isnan(val)`` scan does.
"""
from __future__ import annotations

import numpy as np

from ember.backend import conv3d as K
from ember.ops.conv3d import triple
from ember.ops.pool import adaptive_matrix
from ember.tensor import Function


def _lowest(dtype: np.dtype):
    """The padding value that never wins a max: −∞, or the smallest integer."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def geometry(x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode: bool, name: str):
    """Checked (k, s, p, d, o, extra) triples of a 3-D pooling window; ``extra`` is the ceil-mode overhang
    padded after the end of each axis."""
    if x.ndim != 5:
        raise RuntimeError(f"{name} expects a 5-D input (N, C, D, H, W), got shape {x.shape}")
    k = triple(kernel_size, "kernel_size")
    s = k if stride is None or stride == () or stride == [] else triple(stride, "stride")
    p, d = triple(padding, "padding"), triple(dilation, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise RuntimeError(f"{name}: kernel_size {k}, stride {s} and dilation {d} must be positive and padding {p} "
                           f"non-negative")
    if any(p[a] > k[a] // 2 for a in range(3)):
        raise RuntimeError(f"{name}: padding {p} must be at most half the kernel size {k}")
    o = K.out_sizes(x.shape[2:], k, s, p, d, ceil_mode)
    if min(o) <= 0:
        raise RuntimeError(f"{name}: input of shape {x.shape} is too small for a {k[0]}x{k[1]}x{k[2]} window "
                           f"(padding {p}, dilation {d}); the output would be {o[0]}x{o[1]}x{o[2]}")
    extra = tuple(max((o[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 - (x.shape[2 + a] + 2 * p[a]), 0) for a in range(3))
    return k, s, p, d, o, extra


def _max_taps(x: np.ndarray, geo, want_tap: bool):
    """(max of every window, index of the winning tap or None): one compare-and-select per tap."""
    k, s, p, d, o, extra = geo
    win = K.windows3d(K.pad3d(x, p, _lowest(x.dtype), extra), k, s, d, o)
    taps = list(K.taps(k))
    out = np.array(win[..., 0, 0, 0])
    if not want_tap:  # inference: a running maximum (np.maximum propagates nan, as PyTorch does)
        for t in taps[1:]:
            np.maximum(out, win[(Ellipsis,) + t], out=out)
        return out, None
    tap = np.zeros(out.shape, dtype=np.uint8 if len(taps) < 256 else np.int32)
    for i, t in enumerate(taps[1:], 1):
        v = win[(Ellipsis,) + t]
        better = v > out
        if x.dtype.kind == "f":
            better |= np.isnan(v)
        np.copyto(out, v, where=better)
        np.copyto(tap, i, where=better)
    return out, tap


class MaxPool3d(Function):
    """out = max over each kd×kh×kw window (padding is −∞). Backward: g goes to the window's first maximum,
    dx_pad[tap-shifted] += g where that tap won (added up where windows overlap)."""

    def forward(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        self.geo = geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d")
        out, tap = _max_taps(x, self.geo, self.needs_input_grad[0])
        self.tap, self.x_shape = tap, x.shape
        return out

    def backward(self, g):
        k, s, p, d, o, extra = self.geo
        n, c = self.x_shape[:2]
        dxp = np.zeros((n, c) + tuple(self.x_shape[2 + a] + 2 * p[a] + extra[a] for a in range(3)), dtype=g.dtype)
        zero = np.zeros((), g.dtype)
        for i, t in enumerate(K.taps(k)):
            dxp[K.tap_slice3d(t, s, d, o)] += np.where(self.tap == i, g, zero)
        return (K.unpad3d(dxp, p, self.x_shape[2:]),)


def max_pool3d_indices(x: np.ndarray, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> np.ndarray:
    """Flat (z·H·W + y·W + x) index in its (D, H, W) volume of the maximum of every window, shape
    (N, C, Do, Ho, Wo), as PyTorch's ``return_indices=True`` gives them. Tap (i, j, l) of the window at
    (z, y, x) sits at (z·s − p + d·i, y·s − p + d·j, x·s − p + d·l)."""
    geo = geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d")
    k, s, p, d, o, _ = geo
    tap = _max_taps(x, geo, True)[1].astype(np.int64)
    ti, tj, tl = np.unravel_index(tap, k)
    z = np.arange(o[0])[:, None, None] * s[0] - p[0] + d[0] * ti
    y = np.arange(o[1])[:, None] * s[1] - p[1] + d[1] * tj
    w = np.arange(o[2]) * s[2] - p[2] + d[2] * tl
    return (z * x.shape[3] + y) * x.shape[4] + w


class AvgPool3d(Function):
    """out = (1/m) Σ over each window of the zero-padded input, m the window's cells inside the padded input
    (``count_include_pad``) or inside the input only, or ``divisor_override``; the ceil-mode overhang never
    counts. Backward spreads g/m evenly: dx_pad[tap-shifted] += g/m for every tap."""

    def forward(self, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        geo = geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool3d")
        k, s, p, d, o, extra = geo
        if divisor_override is not None and (isinstance(divisor_override, bool) or int(divisor_override) <= 0):
            raise RuntimeError(f"avg_pool3d: divisor_override must be a positive integer, got {divisor_override!r}")
        xp = K.pad3d(x, p, 0.0, extra)
        win = K.windows3d(xp, k, s, d, o)
        if divisor_override is not None:
            div = np.asarray(divisor_override, dtype=x.dtype)
        elif not any(p) and not any(extra):
            div = np.asarray(k[0] * k[1] * k[2], dtype=x.dtype)
        else:
            div = _avg_divisor(x.shape[2:], geo, count_include_pad, x.dtype)
        taps = list(K.taps(k))
        out = np.array(win[(Ellipsis,) + taps[0]])
        for t in taps[1:]:
            out += win[(Ellipsis,) + t]
        out /= div
        self.div, self.geo, self.x_shape, self.xp_shape = div, geo, x.shape, xp.shape
        return out

    def backward(self, g):
        k, s, p, d, o, extra = self.geo
        gd = g / self.div
        dxp = np.zeros(self.xp_shape, dtype=g.dtype)
        for t in K.taps(k):
            dxp[K.tap_slice3d(t, s, d, o)] += gd
        return (K.unpad3d(dxp, p, self.x_shape[2:]),)


def _avg_divisor(size, geo, count_include_pad: bool, dtype) -> np.ndarray:
    """How many cells each window averages, shape (1, 1, Do, Ho, Wo): window sums over a mask of the counted
    cells (the padded input, or the input only)."""
    k, s, p, d, o, extra = geo
    mask = np.zeros((1, 1) + tuple(size[a] + 2 * p[a] + extra[a] for a in range(3)), dtype=dtype)
    if count_include_pad:
        mask[..., :size[0] + 2 * p[0], :size[1] + 2 * p[1], :size[2] + 2 * p[2]] = 1
    else:
        mask[..., p[0]:p[0] + size[0], p[1]:p[1] + size[1], p[2]:p[2] + size[2]] = 1
    return K.windows3d(mask, k, s, d, o).sum(axis=(-3, -2, -1))


def adaptive_size3(x: np.ndarray, output_size, name: str) -> tuple[int, int, int]:
    """``output_size`` (an int or a triple, ``None`` keeping that input size) as a checked triple of ints."""
    if x.ndim != 5:
        raise RuntimeError(f"{name} expects a 5-D input (N, C, D, H, W), got shape {x.shape}")
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    if len(items) != 3:
        raise ValueError(f"{name}: output_size must be an int or a triple, got {output_size!r}")
    size = tuple(x.shape[2 + a] if v is None else int(v) for a, v in enumerate(items))
    if min(size) < 1:
        raise RuntimeError(f"{name}: output_size must be positive, got {output_size!r}")
    return size


class AdaptiveAvgPool3d(Function):
    """Average over bins [⌊i·D/od⌋, ⌈(i+1)·D/od⌉) × … that cover the input whatever its size (1×1×1 is global
    average pooling). With the per-axis averaging matrices A_d, A_h, A_w (:func:`ember.ops.pool.adaptive_matrix`)
    out = A_d ×₂ A_h ×₃ A_w ×₄ x, and dx = A_dᵀ ×₂ A_hᵀ ×₃ A_wᵀ ×₄ g (one matrix product per axis).
    When the bins tile the input evenly it is one reshape-mean."""

    def forward(self, x, output_size):
        o = adaptive_size3(x, output_size, "adaptive_avg_pool3d")
        n, c, dd, h, w = self.x_shape = x.shape
        if dd % o[0] == 0 and h % o[1] == 0 and w % o[2] == 0:
            self.even = (dd // o[0], h // o[1], w // o[2])
            b = self.even
            return x.reshape(n, c, o[0], b[0], o[1], b[1], o[2], b[2]).mean(axis=(3, 5, 7))
        self.even = None
        self.a = [adaptive_matrix(x.shape[2 + i], o[i], x.dtype) for i in range(3)]
        y = np.matmul(self.a[1], np.matmul(x, self.a[2].T))  # (N, C, D, oh, ow)
        return np.matmul(self.a[0], y.reshape(n, c, dd, -1)).reshape((n, c) + o)

    def backward(self, g):
        n, c, dd, h, w = self.x_shape
        if self.even is not None:
            b = self.even
            o = g.shape[2:]
            gx = np.broadcast_to((g / (b[0] * b[1] * b[2]))[:, :, :, None, :, None, :, None],
                                 (n, c, o[0], b[0], o[1], b[1], o[2], b[2]))
            return (gx.reshape(self.x_shape),)
        ad, ah, aw = self.a
        y = np.matmul(ad.T, g.reshape(n, c, g.shape[2], -1)).reshape((n, c, dd) + g.shape[3:])
        return (np.matmul(np.matmul(ah.T, y), aw),)


def adaptive_max_pool3d_indices(x: np.ndarray, output_size) -> np.ndarray:
    """Flat (z·H·W + y·W + x) index in its (D, H, W) volume of the maximum of every adaptive bin, shape
    (N, C, od, oh, ow): the first maximum in row-major bin order wins ties and a bin holding nan points at its
    last nan, as PyTorch's ``val > max || isnan(val)`` scan does.

    Two vectorised schemes, whichever loops less: over the bins (an argmax over each bin's cells; few large
    bins, e.g. global pooling) or over the taps of the longest bin (a gather of every bin's tap at once; many
    small bins). Bins along an axis differ in length by at most one, so in the tap scan a shorter bin's index
    is clamped to its last cell: a clamped tap repeats a cell already seen, which never beats it."""
    o = adaptive_size3(x, output_size, "adaptive_max_pool3d")
    n, c = x.shape[:2]
    h, w = x.shape[3:]
    starts, ends = [], []
    for a in range(3):
        i, size = np.arange(o[a]), x.shape[2 + a]
        starts.append((i * size) // o[a])
        ends.append(-(-((i + 1) * size) // o[a]))
    lengths = tuple(int((e - s).max()) for s, e in zip(starts, ends))
    if o[0] * o[1] * o[2] <= lengths[0] * lengths[1] * lengths[2]:
        index = np.empty((n, c) + o, dtype=np.int64)
        for b in K.taps(o):  # every bin
            lo = [int(starts[a][b[a]]) for a in range(3)]
            hi = [int(ends[a][b[a]]) for a in range(3)]
            cell = x[:, :, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].reshape(n, c, -1)
            arg = cell.argmax(axis=2)
            if x.dtype.kind == "f":
                nan = np.isnan(cell)
                if nan.any():
                    arg = np.where(nan.any(axis=2), cell.shape[2] - 1 - nan[:, :, ::-1].argmax(axis=2), arg)
            i, j, l = np.unravel_index(arg, (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]))
            index[(slice(None), slice(None)) + b] = ((lo[0] + i) * h + lo[1] + j) * w + lo[2] + l
        return index
    # positions read by tap t of every bin, per axis: (o[a], lengths[a])
    pos = [np.minimum(s[:, None] + np.arange(L), e[:, None] - 1) for s, e, L in zip(starts, ends, lengths)]
    flat_x = x.reshape(n, c, -1)
    best = index = None
    for t in K.taps(lengths):
        where = ((pos[0][:, t[0]][:, None, None] * h + pos[1][:, t[1]][:, None]) * w + pos[2][:, t[2]]).ravel()
        v = flat_x[:, :, where]
        if best is None:
            best, index = v.copy(), np.broadcast_to(where, v.shape).copy()
            continue
        better = v > best
        if x.dtype.kind == "f":
            better |= np.isnan(v)
        np.copyto(best, v, where=better)
        np.copyto(index, where, where=better)
    return index.reshape((n, c) + o)


class VolumeGather(Function):
    """out[n, c, …] = x[n, c].flat[index[n, c, …]]: max pooling given where each maximum sits (from
    :func:`max_pool3d_indices` or :func:`adaptive_max_pool3d_indices`). Backward adds g into those positions
    (overlapping windows may share one): dx[n, c].flat[index] += g."""

    def forward(self, x, index):
        n, c = x.shape[:2]
        self.x_shape, self.index = x.shape, index
        return np.take_along_axis(x.reshape(n, c, -1), index.reshape(n, c, -1), axis=2).reshape(index.shape)

    def backward(self, g):
        n, c = self.x_shape[:2]
        volume = int(np.prod(self.x_shape[2:]))
        flat = (np.arange(n * c).reshape(n, c, 1) * volume + self.index.reshape(n, c, -1)).ravel()
        gx = np.bincount(flat, weights=g.reshape(-1).astype(np.float64, copy=False), minlength=n * c * volume)
        return (gx.astype(g.dtype, copy=False).reshape(self.x_shape),)
