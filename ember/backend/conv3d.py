"""Volumetric (NCDHW) sliding-window kernels on raw arrays: 3-D convolution and the window geometry that
3-D pooling shares with it. The same idea as the 2-D kernels (ember/backend/conv2d.py): a strided
*view* of every receptive field, copied once into a column buffer, then one GEMM.

Layout. The column matrix is ``cols[(c, i, j, l), (n, z, y, x)]`` and the forward is
``W[(o), (c, i, j, l)] @ cols → out[o, (n, z, y, x)]``, one channel-major ("CNDHW") buffer handed back
as an (N, C_out, D, H, W) *view*, as the 2-D convolution does.

Chunks. Columns are kd·kh·kw times the input (27× for a 3×3×3 kernel), so they are never kept for
backward and are built a cache-sized chunk at a time (``CHUNK_BYTES``). A volume's columns easily
exceed that budget on their own, so a chunk is either a run of whole images or a run of output
*depth planes* of one image; both are one contiguous range of the (n, z, y, x) column axis.

Backward (the error of a convolution is a convolution of the error):
  dW = g[o, (n,z,y,x)] @ cols[(c,i,j,l), (n,z,y,x)]ᵀ,   db = Σ g,
  dx = col2im(Wᵀ @ g): each tap's slice of Wᵀ @ g added back where that tap read (a loop over the taps).

Depthwise convs (groups == C_in) loop over the taps with elementwise multiply-adds instead.
"""
from __future__ import annotations

from itertools import product

import numpy as np

from ember.backend import threads
from ember.backend.im2col import out_size

Triple = tuple[int, int, int]

#: Column bytes per chunk: small enough that the columns are still in cache when the GEMM reads them
#: (the 2-D kernels' measured budget; a chunk holds at least one output depth plane).
CHUNK_BYTES = 2 << 20


# --------------------------------------------------------------------------- window geometry (NCDHW)

def out_sizes(size: Triple, k: Triple, s: Triple, p: Triple, d: Triple, ceil_mode: bool = False) -> Triple:
    """Output (D, H, W) of a sliding window, PyTorch's rule per axis (see :func:`im2col.out_size`)."""
    return tuple(out_size(size[a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(3))


def pad3d(x: np.ndarray, p: Triple, value: float = 0.0, extra: Triple = (0, 0, 0)) -> np.ndarray:
    """Pad D, H and W of an NCDHW array by (p, p + extra) each; ``x`` itself when there is nothing to pad.
    ``extra`` is the ceil-mode overhang of pooling: padding after the end only."""
    if not any(p) and not any(extra):
        return x
    n, c, dd, h, w = x.shape
    out = np.full((n, c, dd + 2 * p[0] + extra[0], h + 2 * p[1] + extra[1], w + 2 * p[2] + extra[2]), value,
                  dtype=x.dtype)
    out[:, :, p[0]:p[0] + dd, p[1]:p[1] + h, p[2]:p[2] + w] = x
    return out


def windows3d(xp: np.ndarray, k: Triple, s: Triple, d: Triple, o: Triple) -> np.ndarray:
    """A read-only view of shape (N, C, Do, Ho, Wo, kd, kh, kw) over a padded NCDHW array (any memory order)."""
    s0, s1, s2, s3, s4 = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, xp.shape[:2] + tuple(o) + tuple(k),
        (s0, s1, s2 * s[0], s3 * s[1], s4 * s[2], s2 * d[0], s3 * d[1], s4 * d[2]), writeable=False)


def tap_slice3d(tap: Triple, s: Triple, d: Triple, o: Triple) -> tuple:
    """Where kernel tap (i, j, l) reads in the padded input, for every output position (leading axes kept)."""
    return (slice(None), slice(None)) + tuple(
        slice(tap[a] * d[a], tap[a] * d[a] + s[a] * (o[a] - 1) + 1, s[a]) for a in range(3))


def unpad3d(xp: np.ndarray, p: Triple, size: Triple) -> np.ndarray:
    """The (D, H, W) = ``size`` interior of a padded array (a view)."""
    return xp[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1], p[2]:p[2] + size[2]]


def taps(k: Triple):
    """Every kernel tap (i, j, l) in row-major order."""
    return product(range(k[0]), range(k[1]), range(k[2]))


# --------------------------------------------------------------------------- convolution

def _pad_cn(x: np.ndarray, p: Triple) -> np.ndarray:
    """Zero-pad D, H, W into a channel-major buffer, returned as an NCDHW view (the column copy then reads
    each channel's images contiguously)."""
    if not any(p):
        return x
    n, c, dd, h, w = x.shape
    buf = np.zeros((c, n, dd + 2 * p[0], h + 2 * p[1], w + 2 * p[2]), dtype=x.dtype)
    np.copyto(buf[:, :, p[0]:p[0] + dd, p[1]:p[1] + h, p[2]:p[2] + w], x.transpose(1, 0, 2, 3, 4))
    return buf.transpose(1, 0, 2, 3, 4)


def _windows_cn(xp: np.ndarray, k: Triple, s: Triple, d: Triple, o: Triple) -> np.ndarray:
    """View (C, kd, kh, kw, N, Do, Ho, Wo) of the receptive fields of an NCDHW array (any memory order)."""
    s0, s1, s2, s3, s4 = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[1],) + tuple(k) + (xp.shape[0],) + tuple(o),
        (s1, s2 * d[0], s3 * d[1], s4 * d[2], s0, s2 * s[0], s3 * s[1], s4 * s[2]), writeable=False)


def _as_cn(a: np.ndarray) -> np.ndarray:
    """(N, C, D, H, W) → (C, N·D·H·W) matrix; free when ``a`` views a channel-major buffer."""
    t = a.transpose(1, 0, 2, 3, 4)
    if not t.flags.c_contiguous:
        t = np.ascontiguousarray(t)
    return t.reshape(a.shape[1], -1)


def _plan(n: int, do: int, plane_bytes: int) -> list[tuple[int, int, int, int]]:
    """Chunks (n0, n1, z0, z1): images n0..n1 with output depth planes z0..z1, of about ``CHUNK_BYTES`` of
    columns each. Whole images when one fits the budget, else runs of depth planes of one image."""
    image = do * plane_bytes
    if image <= CHUNK_BYTES:
        return [(s, e, 0, do) for s, e in threads.split(n, image, CHUNK_BYTES)]
    per = threads.split(do, plane_bytes, CHUNK_BYTES)
    return [(i, i + 1, z0, z1) for i in range(n) for z0, z1 in per]


def _span(chunk, o: Triple) -> tuple[int, int]:
    """The chunk's contiguous range of the (n, z, y, x) column axis."""
    n0, n1, z0, z1 = chunk
    plane = o[1] * o[2]
    return (n0 * o[0] + z0) * plane, ((n1 - 1) * o[0] + z1) * plane


def _depth_rows(chunk, k: Triple, s: Triple, d: Triple) -> slice:
    """The padded input's depth rows that the chunk's output planes read."""
    z0, z1 = chunk[2], chunk[3]
    return slice(z0 * s[0], (z1 - 1) * s[0] + d[0] * (k[0] - 1) + 1)


def _columns(xp: np.ndarray, chunk, k: Triple, s: Triple, d: Triple, o: Triple) -> np.ndarray:
    """Columns (C·kd·kh·kw, m·dz·Ho·Wo) of one chunk of the padded input: one copy from the window view."""
    n0, n1, z0, z1 = chunk
    sub = xp[n0:n1, :, _depth_rows(chunk, k, s, d)]
    win = _windows_cn(sub, k, s, d, (z1 - z0, o[1], o[2]))
    cols = np.empty(win.shape, dtype=xp.dtype)
    np.copyto(cols, win)
    return cols.reshape(-1, (n1 - n0) * (z1 - z0) * o[1] * o[2])


def dense_forward(x: np.ndarray, w: np.ndarray, b, stride: Triple, padding: Triple, dilation: Triple):
    """Dense 3-D conv: (out NCDHW view of a CNDHW buffer, cache for backward). The cache keeps only ``x``
    (alive anyway as the parent tensor); backward rebuilds the columns chunk by chunk."""
    n, c = x.shape[:2]
    cout, k = w.shape[0], w.shape[2:]
    o = out_sizes(x.shape[2:], k, stride, padding, dilation)
    w2 = w.reshape(cout, -1)
    xp = _pad_cn(x, padding)
    out = np.empty((cout, n * o[0] * o[1] * o[2]), dtype=np.result_type(w2, x))
    chunks = _plan(n, o[0], w2.shape[1] * o[1] * o[2] * x.itemsize)
    mm = threads.matmul if len(chunks) == 1 else np.matmul  # one chunk: the threads split the product instead

    def run(*chunk):
        lo, hi = _span(chunk, o)
        mm(w2, _columns(xp, chunk, k, stride, dilation, o), out=out[:, lo:hi])

    threads.map_chunks(run, chunks)
    if b is not None:
        out += b[:, None]
    out = out.reshape((cout, n) + o).transpose(1, 0, 2, 3, 4)
    return out, (w2, x, (tuple(k), tuple(stride), tuple(padding), tuple(dilation), o))


def dense_backward(g: np.ndarray, cache, need_x: bool, need_w: bool, need_b: bool):
    """(dx, dW, db), each None when not needed. One pass over the chunks: dW from the rebuilt columns of x,
    dx by scattering each tap's rows of Wᵀ·g back into a zero-padded buffer. Chunks of whole images write
    disjoint parts of dx and run in parallel; depth chunks of one image overlap there and run in turn."""
    w2, x, (k, s, p, d, o) = cache
    n, c = x.shape[:2]
    cout = w2.shape[0]
    g2 = _as_cn(g)
    gb = g2 @ np.ones(g2.shape[1], g2.dtype) if need_b else None  # a BLAS row sum
    if not (need_x or need_w):
        return None, None, gb
    xp = _pad_cn(x, p) if need_w else None
    dxp = None
    if need_x:
        size = x.shape[2:]
        dxp = np.zeros((c, n) + tuple(size[a] + 2 * p[a] for a in range(3)), dtype=np.result_type(g, w2))
    chunks = _plan(n, o[0], w2.shape[1] * o[1] * o[2] * x.itemsize)
    serial = chunks[0][2] != 0 or chunks[0][3] != o[0]  # depth chunks: their dx rows overlap
    mm = threads.matmul if serial or len(chunks) == 1 else np.matmul
    w2t = w2.T

    def run(*chunk):
        lo, hi = _span(chunk, o)
        gc = g2[:, lo:hi]
        part = mm(_columns(xp, chunk, k, s, d, o), gc.T) if need_w else None  # (C·k³, C_out)
        if need_x:
            n0, n1, z0, z1 = chunk
            dcols = mm(w2t, gc).reshape((c,) + tuple(k) + (n1 - n0, z1 - z0, o[1], o[2]))
            region = dxp[:, n0:n1, _depth_rows(chunk, k, s, d)]
            for t in taps(k):
                region[tap_slice3d(t, s, d, (z1 - z0, o[1], o[2]))] += dcols[(slice(None),) + t]
        return part

    parts = [run(*ch) for ch in chunks] if serial else threads.map_chunks(run, chunks)
    gw = sum(parts[1:], parts[0]).T.reshape((cout, c) + tuple(k)) if need_w else None
    gx = unpad3d(dxp.transpose(1, 0, 2, 3, 4), p, x.shape[2:]) if need_x else None
    return gx, gw, gb


def depthwise_forward(x: np.ndarray, w: np.ndarray, b, stride: Triple, padding: Triple, dilation: Triple):
    """groups == C_in: out[n, c·m + q] = Σ_taps x_pad[n, c, tap] · W[c·m + q, 0, tap] (channel multiplier m),
    one elementwise multiply-add per tap over the window view (a GEMM of one column would waste the BLAS)."""
    n, c = x.shape[:2]
    cout, k = w.shape[0], tuple(w.shape[2:])
    m = cout // c
    o = out_sizes(x.shape[2:], k, stride, padding, dilation)
    xp = _pad_cn(x, padding)
    win = _windows_cn(xp, k, stride, dilation, o)  # (C, kd, kh, kw, N, Do, Ho, Wo)
    wk = w.reshape((c, m) + k)
    out = np.zeros((c, m, n) + o, dtype=np.result_type(w, x))
    for t in taps(k):
        out += win[(slice(None),) + t][:, None] * wk[(slice(None), slice(None)) + t][:, :, None, None, None, None]
    if b is not None:
        out += b.reshape(c, m, 1, 1, 1, 1)
    out = out.reshape((cout, n) + o).transpose(1, 0, 2, 3, 4)
    return out, (xp, wk, x.shape, (k, tuple(stride), tuple(padding), tuple(dilation), o))


def depthwise_backward(g: np.ndarray, cache, need_x: bool, need_w: bool, need_b: bool):
    """dW[c·m + q, 0, tap] = Σ g[:, c·m + q] · x_pad[:, c, tap-shifted];  db = Σ g;
    dx_pad[:, c, tap-shifted] += Σ_q g[:, c·m + q] · W[c·m + q, 0, tap]."""
    xp, wk, x_shape, (k, s, p, d, o) = cache
    n, c = x_shape[:2]
    m = wk.shape[1]
    gc = g.transpose(1, 0, 2, 3, 4).reshape((c, m, n) + o)
    gw = gb = gx = None
    if need_b:
        gb = gc.sum(axis=(2, 3, 4, 5)).reshape(c * m)
    if need_w:
        win = _windows_cn(xp, k, s, d, o)
        gw = np.empty((c, m) + k, dtype=g.dtype)
        for t in taps(k):
            gw[(slice(None), slice(None)) + t] = np.einsum("cmnzyx,cnzyx->cm", gc, win[(slice(None),) + t])
        gw = gw.reshape((c * m, 1) + k)
    if need_x:
        dxp = np.zeros((c, n) + xp.shape[2:], dtype=g.dtype)
        for t in taps(k):
            wt = wk[(slice(None), slice(None)) + t]
            contrib = (np.einsum("cmnzyx,cm->cnzyx", gc, wt) if m > 1
                       else gc[:, 0] * wt[:, 0, None, None, None, None])
            dxp[tap_slice3d(t, s, d, o)] += contrib
        gx = unpad3d(dxp.transpose(1, 0, 2, 3, 4), p, x_shape[2:])
    return gx, gw, gb
