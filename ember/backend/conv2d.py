"""Convolution kernels on raw arrays (NCHW at the interface).

Layout. Internally the batch-and-space axes are kept together: the column
matrix is ``cols[(c, i, j), (n, h, w)]`` and the forward is a matrix multiply
``W[(o), (c, i, j)] @ cols → out[o, (n, h, w)]`` into one channel-major
("CNHW") buffer, handed back as an (N, C_out, H, W) *view*: elementwise ops
downstream keep that layout (NumPy's ufuncs follow their inputs' memory order),
the next conv reads it through a strided window view, and the backward's
gradient usually arrives in the same layout, so the transposes cost nothing.

Columns are k·k times the input, so they are never kept for backward and are
built a cache-sized chunk of images at a time (``CHUNK_BYTES``): the GEMM then
reads them from cache instead of DRAM, and the saved state is just ``x``.

Backward (NOTES §1: the error of a conv is a convolution of the error):
  dW = g[o, (n,h,w)] @ cols[(c,i,j), (n,h,w)]ᵀ,  db = g @ 1,
  dx = col2im(Wᵀ @ g) — or, for stride 1, the *gather* form dx = conv(pad(g), flip(W)ᵀ),
  which reuses im2col + GEMM instead of a scatter, and whose columns give dW too.

Depthwise convs (groups == C_in) loop over the k·k kernel taps with
elementwise multiply-adds; other group counts run the dense kernel per group.
"""
from __future__ import annotations

import numpy as np

from ember.backend import threads
from ember.backend.im2col import out_size, tap_slice


def pad_cnhw(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Zero-pad H and W of an NCHW array into a channel-major buffer; returns an NCHW view."""
    n, c, h, w = x.shape
    buf = np.empty((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    if ph or pw:
        buf[:, :, :ph] = 0
        buf[:, :, ph + h:] = 0
        buf[:, :, ph:ph + h, :pw] = 0
        buf[:, :, ph:ph + h, pw + w:] = 0
    np.copyto(buf[:, :, ph:ph + h, pw:pw + w], x.transpose(1, 0, 2, 3))
    return buf.transpose(1, 0, 2, 3)


def windows_cnhw(xp: np.ndarray, kh, kw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """View (C, kh, kw, N, Ho, Wo) of the receptive fields of an NCHW (any memory layout) array."""
    s0, s1, s2, s3 = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[1], kh, kw, xp.shape[0], ho, wo), (s1, s2 * dh, s3 * dw, s0, s2 * sh, s3 * sw),
        writeable=False)


def im2col(xp: np.ndarray, kh, kw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """Columns (C·kh·kw, N·Ho·Wo): one copy from the window view."""
    n, c = xp.shape[:2]
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=xp.dtype)
    np.copyto(cols, windows_cnhw(xp, kh, kw, sh, sw, dh, dw, ho, wo))
    return cols.reshape(c * kh * kw, n * ho * wo)


def _rows_ok(wo: int, pw_total: int) -> bool:
    """Use the flattened-rows kernel when the wasted columns are a small fraction of the work."""
    return wo >= 0.75 * (wo + pw_total)


def im2col_rows(x: np.ndarray, kh, kw, ph, pw, dh, dw, ho) -> tuple[np.ndarray, int]:
    """Stride-1 columns over *flattened padded rows*: (C·kh·kw, N·Ho·Wp).

    With stride 1, tap (i, j) of output pixel p = y·Wp + x reads padded pixel
    p + i·dh·Wp + j·dw: the whole tap is ONE contiguous run of Ho·Wp values per
    image. Copying runs that long is close to memcpy speed, where the usual
    im2col copies rows of only Wo values. The price: outputs are computed for
    x ∈ [Wo, Wp) too (they read wrapped-around pixels) and are dropped after the
    GEMM — a fraction (Wp − Wo)/Wp of extra work.
    """
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    plane = hp * wp
    slack = dw * (kw - 1)
    flat = np.empty(c * n * plane + slack, dtype=x.dtype)
    xp = flat[: c * n * plane].reshape(c, n, hp, wp)
    if ph or pw:
        xp[:, :, :ph] = 0
        xp[:, :, ph + h:] = 0
        xp[:, :, ph:ph + h, :pw] = 0
        xp[:, :, ph:ph + h, pw + w:] = 0
    flat[c * n * plane:] = 0
    np.copyto(xp[:, :, ph:ph + h, pw:pw + w], x.transpose(1, 0, 2, 3))
    it = flat.itemsize
    src = np.lib.stride_tricks.as_strided(
        flat, (c, kh, kw, n, ho * wp), (n * plane * it, dh * wp * it, dw * it, plane * it, it), writeable=False)
    cols = np.empty((c, kh, kw, n, ho * wp), dtype=x.dtype)
    np.copyto(cols, src)
    return cols.reshape(c * kh * kw, n * ho * wp), wp


def _grad_rows(g: np.ndarray, wp: int) -> np.ndarray:
    """(N, C, Ho, Wo) array → (C, N·Ho·Wp) with zeros in the dropped columns x ≥ Wo."""
    n, c, ho, wo = g.shape
    g2 = np.zeros((c, n, ho, wp), dtype=g.dtype)
    np.copyto(g2[:, :, :, :wo], g.transpose(1, 0, 2, 3))
    return g2.reshape(c, n * ho * wp)


def _as_cn(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (C, N·H·W) matrix; free when ``a`` is a view of a channel-major buffer."""
    n, c, h, w = a.shape
    t = a.transpose(1, 0, 2, 3)
    if not t.flags.c_contiguous:
        t = np.ascontiguousarray(t)
    return t.reshape(c, n * h * w)


#: Column bytes per chunk of images: small enough to stay in cache between the im2col copy and the GEMM that
#: reads it. Measured on ResNet-20's three stages, where whole-batch columns (40 MB) ran at DRAM speed: 2 MiB
#: chunks took a stage-1 conv forward from ~9 to ~5 ms.
CHUNK_BYTES = 2 << 20


def _chunks(n: int, bytes_per_image: int, whole: bool = False) -> list[tuple[int, int]]:
    """(start, stop) ranges of images whose columns take about ``CHUNK_BYTES``; one range when ``whole``."""
    return [(0, n)] if whole else threads.split(n, bytes_per_image, CHUNK_BYTES)


def _is_matmul(kh, kw, sh, sw, ph, pw) -> bool:
    """A 1×1, stride-1, unpadded conv needs no columns: it is a plain matrix multiply over channels."""
    return kh == kw == 1 and ph == pw == 0 and sh == sw == 1


def _gather_ok(c, cout, kh, kw, sh, sw, ph, pw, dh, dw) -> bool:
    """Stride-1 input gradient as a gather (a conv of the padded gradient): valid when the padding is at most
    d·(k−1), and worth it when C_out is not much above C (it reads C_out·k·k values per input pixel)."""
    return (sh == sw == 1 and not _is_matmul(kh, kw, sh, sw, ph, pw) and ph <= dh * (kh - 1)
            and pw <= dw * (kw - 1) and cout <= 2 * c)


def _columns(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows: bool) -> np.ndarray:
    """The column matrix of x: flattened-row layout (C·k·k, N·Ho·Wp) or plain (C·k·k, N·Ho·Wo)."""
    if rows:
        return im2col_rows(x, kh, kw, ph, pw, dh, dw, ho)[0]
    if _is_matmul(kh, kw, sh, sw, ph, pw):
        return _as_cn(x)
    xp = pad_cnhw(x, ph, pw) if (ph or pw) else x
    return im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo)


def _conv_gemm(x, w2, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows: bool) -> np.ndarray:
    """out (C_out, N·Ho·W') = W · cols, the columns built a cache-sized chunk of images at a time."""
    n = x.shape[0]
    run = ho * (x.shape[3] + 2 * pw if rows else wo)
    out = np.empty((w2.shape[0], n * run), dtype=np.result_type(w2, x))

    chunks = _chunks(n, w2.shape[1] * run * x.itemsize, _is_matmul(kh, kw, sh, sw, ph, pw))
    # one chunk (a small batch, or a 1×1 conv): the threads split the product instead
    product = threads.matmul if len(chunks) == 1 else np.matmul

    def chunk(s, e):
        product(w2, _columns(x[s:e], kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows), out=out[:, s * run:e * run])

    threads.map_chunks(chunk, chunks)
    return out


def dense_forward(x, w, b, stride, padding, dilation):
    """Dense conv: returns (out NCHW view of a CNHW buffer, cache for backward).

    No columns are kept: whole-batch columns are k·k times the input (40 MB for one ResNet-20 stage-1
    conv at batch 64) and ran at DRAM speed. Forward and backward build them a chunk of images at a time
    (``CHUNK_BYTES``), so each chunk is still in cache when its GEMM reads it, and the cache keeps only
    ``x`` — alive anyway as the parent tensor.
    """
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(wd, kw, sw, pw, dw)
    w2 = w.reshape(cout, -1)
    rows = sh == sw == 1 and not _is_matmul(kh, kw, sh, sw, ph, pw) and _rows_ok(wo, 2 * pw)
    out = _conv_gemm(x, w2, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows)
    if b is not None:
        out += b[:, None]
    wq = wd + 2 * pw if rows else wo
    out = out.reshape(cout, n, ho, wq)[:, :, :, :wo].transpose(1, 0, 2, 3)
    return out, (w2, x, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), rows)


def dense_backward(g, cache, need_x: bool, need_w: bool, need_b: bool):
    """A stride-1 conv whose input needs a gradient takes the gather form, whose columns of the padded
    *gradient* give dW as well (``_gather_backward``); otherwise dW comes from x's columns, rebuilt."""
    w2, x, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), rows = cache
    n, c, h, wd = x.shape
    cout = w2.shape[0]
    gb = None
    if need_b:
        g2 = _as_cn(g)
        gb = g2 @ np.ones(g2.shape[1], g2.dtype)  # a BLAS row sum: faster than g2.sum(axis=1)
    if need_x and _gather_ok(c, cout, kh, kw, sh, sw, ph, pw, dh, dw):
        return (*_gather_backward(g, x, w2, (kh, kw, ph, pw, dh, dw), need_w), gb)
    gw = _weight_grad(g, x, w2, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows) if need_w else None
    gx = None
    if need_x:
        if _is_matmul(kh, kw, sh, sw, ph, pw):
            gx = (w2.T @ _as_cn(g)).reshape(c, n, h, wd).transpose(1, 0, 2, 3)
        else:
            gx = _input_grad_scatter(g, w2, x.shape, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    return gx, gw, gb


def input_grad(g, w, x_shape, stride, padding, dilation):
    """dx of y = conv(x, w) for an input of shape ``x_shape`` whose output gradient is ``g``, without x: the
    input's values are never read for dx, so a zero-strided stand-in of that shape takes its place (this is
    a transposed convolution's forward)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = w.shape[2:]
    ho, wo = g.shape[2:]
    stand_in = np.broadcast_to(np.zeros((), g.dtype), tuple(x_shape))
    cache = (w.reshape(w.shape[0], -1), stand_in, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), False)
    return dense_backward(g, cache, True, False, False)[0]


def _weight_grad(g, x, w2, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows):
    """dW = g · colsᵀ, accumulated over chunks of images whose columns are rebuilt from x."""
    n, c = x.shape[:2]
    cout = w2.shape[0]
    wq = x.shape[3] + 2 * pw if rows else wo

    def chunk(s, e):
        cols = _columns(x[s:e], kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, rows)
        g2 = _grad_rows(g[s:e], wq) if rows else _as_cn(g[s:e])  # zeros in the dropped columns
        return cols @ g2.T  # cols · g2ᵀ: measured 1.4–1.7× faster in OpenBLAS than g2 · colsᵀ for long K

    parts = threads.map_chunks(chunk, _chunks(n, w2.shape[1] * ho * wq * x.itemsize,
                                               _is_matmul(kh, kw, sh, sw, ph, pw)))
    return sum(parts[1:], parts[0]).T.reshape(cout, c, kh, kw)


def _input_grad_scatter(g, w2, x_shape, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    """col2im: dcols = Wᵀ · g, each entry added back to the padded pixel it was read from (one add per tap).

    Stride 1 works over flattened padded rows, where a tap adds ONE contiguous run of Ho·Wp values per
    image (the gradient gets zeros in the dropped columns x ≥ Wo, so wrapped-around positions receive
    nothing); strided convs add through strided tap views. Chunks of images keep dcols in cache.
    """
    n, c, h, wd = x_shape
    hp, wp = h + 2 * ph, wd + 2 * pw
    k = w2.shape[1]
    if sh == sw == 1:
        plane, run = hp * wp, ho * wp
        dxp = np.zeros((c, n, plane + dw * (kw - 1)), dtype=np.result_type(g, w2))

        def chunk(s, e):
            dcols = (w2.T @ _grad_rows(g[s:e], wp)).reshape(c, kh, kw, e - s, run)
            for i in range(kh):
                for j in range(kw):
                    off = i * dh * wp + j * dw
                    dxp[:, s:e, off:off + run] += dcols[:, i, j]

        threads.map_chunks(chunk, _chunks(n, k * run * g.itemsize))
        dxp = dxp[:, :, :plane].reshape(c, n, hp, wp)
    else:
        dxp = np.zeros((c, n, hp, wp), dtype=np.result_type(g, w2))

        def chunk(s, e):
            dcols = (w2.T @ _as_cn(g[s:e])).reshape(c, kh, kw, e - s, ho, wo)
            part = dxp[:, s:e]
            for i in range(kh):
                for j in range(kw):
                    part[tap_slice(i, j, sh, sw, dh, dw, ho, wo)] += dcols[:, i, j]

        threads.map_chunks(chunk, _chunks(n, k * ho * wo * g.itemsize))
    return dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3)


def _gather_backward(g, x, w2, geo, need_w):
    """Stride-1 (dx, dW or None) from the columns of the padded gradient (pad q = d·(k−1) − p on each side).

    dx = conv(pad(g, q), flip(W) with in/out swapped) = W_f · cols_g, and, from the same columns,
    dW[o, c, i, j] = Σ_pixels x[c, pixel] · cols_g[(o, k−1−i, k−1−j), pixel]: the gradient shifted by
    tap (i, j) meets the input where the forward's tap (i, j) read it. So no forward columns are needed.
    The columns are built a cache-sized chunk of images at a time; dW accumulates over the chunks.
    """
    kh, kw, ph, pw, dh, dw = geo
    n, c, h, wd = x.shape
    cout = w2.shape[0]
    qh, qw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    wp = g.shape[3] + 2 * qw  # the padded gradient's width: W + d·(k−1)
    rows = _rows_ok(wd, wp - wd)
    if not rows:
        wp = wd  # plain columns: exactly the W output columns; in rows, columns x ≥ W are dropped
    run = h * wp
    wf = np.ascontiguousarray(w2.reshape(cout, c, kh, kw)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    wf = wf.reshape(c, -1)
    gx = np.empty((c, n * run), dtype=np.result_type(wf, g))

    def chunk(s, e):
        cols_g = _columns(g[s:e], kh, kw, 1, 1, qh, qw, dh, dw, h, wd, rows)  # (C_out·kh·kw, m·H·Wp)
        np.matmul(wf, cols_g, out=gx[:, s * run:e * run])
        if need_w:
            xr = _grad_rows(x[s:e], wp) if rows else _as_cn(x[s:e])  # zeros where cols_g is dropped
            return cols_g @ xr.T  # big operand on the left: 1.2–1.5× faster in OpenBLAS here
        return None

    parts = threads.map_chunks(chunk, _chunks(n, cout * kh * kw * run * g.itemsize))
    gx = gx.reshape(c, n, h, wp)[:, :, :, :wd].transpose(1, 0, 2, 3)
    gw = None
    if need_w:
        r = sum(parts[1:], parts[0])  # (C_out·kh·kw, C)
        gw = r.reshape(cout, kh, kw, c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    return gx, gw


def depthwise_forward(x, w, b, stride, padding, dilation):
    """groups == C_in: out[n, c·m + k] = Σ_taps x_pad[n, c, tap] · W[c·m + k, 0, tap] (channel multiplier m)."""
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    m = cout // c
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(wd, kw, sw, pw, dw)
    xp = pad_cnhw(x, ph, pw) if (ph or pw) else x
    win = windows_cnhw(xp, kh, kw, sh, sw, dh, dw, ho, wo)  # (C, kh, kw, N, Ho, Wo)
    wk = w.reshape(c, m, kh, kw)
    out = np.zeros((c, m, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += win[:, i, j][:, None] * wk[:, :, i, j][:, :, None, None, None]
    if b is not None:
        out += b.reshape(c, m, 1, 1, 1)
    out = out.reshape(cout, n, ho, wo).transpose(1, 0, 2, 3)
    return out, (xp, wk, x.shape, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo))


def depthwise_backward(g, cache, need_x, need_w, need_b):
    xp, wk, x_shape, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo) = cache
    n, c, h, wd = x_shape
    m = wk.shape[1]
    gc = g.transpose(1, 0, 2, 3).reshape(c, m, n, ho, wo)
    win = windows_cnhw(xp, kh, kw, sh, sw, dh, dw, ho, wo)
    gw = gb = gx = None
    if need_w:
        gw = np.empty((c, m, kh, kw), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                gw[:, :, i, j] = np.einsum("cmnhw,cnhw->cm", gc, win[:, i, j])
        gw = gw.reshape(c * m, 1, kh, kw)
    if need_b:
        gb = gc.sum(axis=(2, 3, 4)).reshape(c * m)
    if need_x:
        dxp = np.zeros((c, n) + xp.shape[2:], dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("cmnhw,cm->cnhw", gc, wk[:, :, i, j]) if m > 1 else gc[:, 0] * wk[:, 0, i, j][:, None, None, None]
                dxp[tap_slice(i, j, sh, sw, dh, dw, ho, wo)] += contrib
        gx = dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3)
    return gx, gw, gb
