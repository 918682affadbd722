"""Convolution kernels on raw arrays (NCHW at the interface).

Layout. Internally the batch-and-space axes are kept together: the column
matrix is ``cols[(c, i, j), (n, h, w)]`` and the forward is ONE matrix multiply
``W[(o), (c, i, j)] @ cols → out[o, (n, h, w)]`` over the whole batch — large
enough for the BLAS to run at full speed on every core. The result is handed
back as an (N, C_out, H, W) *view* of that channel-major ("CNHW") buffer:
elementwise ops downstream keep that layout (NumPy's ufuncs follow their
inputs' memory order), the next conv reads it through a strided window view,
and the backward's gradient usually arrives in the same layout, so the
transposes cost nothing.

Backward (NOTES §1: the error of a conv is a convolution of the error):
  dW = g[o, (n,h,w)] @ cols[(c,i,j), (n,h,w)]ᵀ,  db = g @ 1,
  dx = col2im(Wᵀ @ g) — or, for stride 1, the *gather* form dx = conv(pad(g), flip(W)ᵀ),
  which reuses im2col + GEMM instead of a scatter.

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
    threads.copyto(buf[:, :, ph:ph + h, pw:pw + w], x.transpose(1, 0, 2, 3))
    return buf.transpose(1, 0, 2, 3)


def windows_cnhw(xp: np.ndarray, kh, kw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """View (C, kh, kw, N, Ho, Wo) of the receptive fields of an NCHW (any memory layout) array."""
    s0, s1, s2, s3 = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[1], kh, kw, xp.shape[0], ho, wo), (s1, s2 * dh, s3 * dw, s0, s2 * sh, s3 * sw),
        writeable=False)


def im2col(xp: np.ndarray, kh, kw, sh, sw, dh, dw, ho, wo) -> np.ndarray:
    """Columns (C·kh·kw, N·Ho·Wo): one copy from the window view, split across threads."""
    n, c = xp.shape[:2]
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=xp.dtype)
    threads.copyto(cols, windows_cnhw(xp, kh, kw, sh, sw, dh, dw, ho, wo))
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
    threads.copyto(xp[:, :, ph:ph + h, pw:pw + w], x.transpose(1, 0, 2, 3))
    it = flat.itemsize
    src = np.lib.stride_tricks.as_strided(
        flat, (c, kh, kw, n, ho * wp), (n * plane * it, dh * wp * it, dw * it, plane * it, it), writeable=False)
    cols = np.empty((c, kh, kw, n, ho * wp), dtype=x.dtype)
    threads.copyto(cols, src)
    return cols.reshape(c * kh * kw, n * ho * wp), wp


def _rows_forward(x, w2, b, kh, kw, ph, pw, dh, dw, ho, wo):
    n = x.shape[0]
    cols, wp = im2col_rows(x, kh, kw, ph, pw, dh, dw, ho)
    out = w2 @ cols
    if b is not None:
        out += b[:, None]
    out = out.reshape(w2.shape[0], n, ho, wp)[:, :, :, :wo].transpose(1, 0, 2, 3)
    return out, cols, wp


def _grad_rows(g: np.ndarray, wp: int) -> np.ndarray:
    """(N, C, Ho, Wo) array → (C, N·Ho·Wp) with zeros in the dropped columns x ≥ Wo."""
    n, c, ho, wo = g.shape
    g2 = np.zeros((c, n, ho, wp), dtype=g.dtype)
    threads.copyto(g2[:, :, :, :wo], g.transpose(1, 0, 2, 3))
    return g2.reshape(c, n * ho * wp)


def _as_cn(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (C, N·H·W) matrix; free when ``a`` is a view of a channel-major buffer."""
    n, c, h, w = a.shape
    t = a.transpose(1, 0, 2, 3)
    if not t.flags.c_contiguous:
        t = threads.ascontiguous(t)
    return t.reshape(c, n * h * w)


def _gather_ok(c, cout, kh, kw, sh, sw, ph, pw, dh, dw) -> bool:
    """Stride-1 input gradient as a gather (a conv of the padded gradient): valid when the padding is at most
    d·(k−1), and worth it when C_out is not much above C (it reads C_out·k·k values per input pixel)."""
    return (sh == sw == 1 and not (kh == kw == 1 and ph == pw == 0) and ph <= dh * (kh - 1)
            and pw <= dw * (kw - 1) and cout <= 2 * c)


def dense_forward(x, w, b, stride, padding, dilation, need_x: bool = False):
    """Dense conv: returns (out NCHW view of a CNHW buffer, cache for backward).

    When the input gradient will be a gather (``need_x`` and a stride-1 geometry), the backward builds the
    columns of the padded *gradient* anyway, and those give the weight gradient against the plain input too
    (see ``_gather_backward``): the cache then keeps ``x`` — alive anyway as the parent tensor — instead of
    the columns, 1/(k·k) of the memory (ResNet-20's saved activations fall from ~490 to ~110 MB).
    """
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = out_size(h, kh, sh, ph, dh), out_size(wd, kw, sw, pw, dw)
    w2 = w.reshape(cout, -1)
    geo = (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    if need_x and _gather_ok(c, cout, kh, kw, sh, sw, ph, pw, dh, dw):
        if _rows_ok(wo, 2 * pw):
            out = _rows_forward(x, w2, b, kh, kw, ph, pw, dh, dw, ho, wo)[0]
        else:
            out = _cols_forward(x, w2, b, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)[0]
        return out, (None, w2, x, geo, None)
    if sh == sw == 1 and not (kh == kw == 1 and ph == pw == 0) and _rows_ok(wo, 2 * pw):
        out, cols, wp = _rows_forward(x, w2, b, kh, kw, ph, pw, dh, dw, ho, wo)
        return out, (cols, w2, x.shape, geo, wp)
    out, cols = _cols_forward(x, w2, b, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    return out, (cols, w2, x.shape, geo, None)


def _cols_forward(x, w2, b, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    n = x.shape[0]
    if kh == kw == 1 and ph == pw == 0 and sh == sw == 1:
        cols = _as_cn(x)  # a 1×1 conv is a plain matrix multiply over channels
    else:
        xp = pad_cnhw(x, ph, pw) if (ph or pw) else x
        cols = im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo)
    out = w2 @ cols  # (C_out, N·Ho·Wo)
    if b is not None:
        out += b[:, None]
    return out.reshape(w2.shape[0], n, ho, wo).transpose(1, 0, 2, 3), cols


def dense_backward(g, cache, need_x: bool, need_w: bool, need_b: bool):
    cols, w2, x_shape, (kh, kw, sh, sw, ph, pw, dh, dw, ho, wo), wp = cache
    if cols is None:  # saved x, not columns: the gather form gives both gradients
        return _gather_backward(g, x_shape, w2, (kh, kw, ph, pw, dh, dw), need_x, need_w, need_b)
    n, c, h, wd = x_shape
    cout = w2.shape[0]
    g2 = _as_cn(g) if wp is None else _grad_rows(g, wp)  # (C_out, N·Ho·W(p))
    # cols · g2ᵀ then transposed: measured 1.4–1.7× faster in OpenBLAS than g2 · colsᵀ for these long-K shapes
    gw = (cols @ g2.T).T.reshape(cout, c, kh, kw) if need_w else None
    gb = g2 @ np.ones(g2.shape[1], g2.dtype) if need_b else None  # BLAS column sum (both cores)
    gx = None
    if need_x:
        if kh == kw == 1 and ph == pw == 0 and sh == sw == 1:
            gx = (w2.T @ g2).reshape(c, n, h, wd).transpose(1, 0, 2, 3)
        elif _gather_ok(c, cout, kh, kw, sh, sw, ph, pw, dh, dw):
            gx = _gather_backward(g, None, w2, (kh, kw, ph, pw, dh, dw), True, False, False, x_shape)[0]
        elif sh == sw == 1:
            gx = _input_grad_scatter_rows(w2.T @ (g2 if wp is not None else _grad_rows(g, wd + 2 * pw)),
                                          x_shape, kh, kw, ph, pw, dh, dw, ho)
        else:
            gx = _input_grad_scatter(w2.T @ g2, x_shape, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo)
    return gx, gw, gb


def _input_grad_scatter_rows(dcols, x_shape, kh, kw, ph, pw, dh, dw, ho):
    """Stride-1 col2im over flattened padded rows: each tap adds ONE contiguous run of Ho·Wp values per image
    (``dcols`` has zeros in the dropped columns x ≥ Wo, so the wrapped-around positions receive nothing)."""
    n, c, h, wd = x_shape
    hp, wp = h + 2 * ph, wd + 2 * pw
    plane, run = hp * wp, ho * wp
    dcols = dcols.reshape(c, kh, kw, n, run)
    dxp = np.zeros((c, n, plane + dw * (kw - 1)), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            off = i * dh * wp + j * dw
            dxp[:, :, off:off + run] += dcols[:, i, j]
    dxp = dxp[:, :, :plane].reshape(c, n, hp, wp)
    return dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3)


def _gather_backward(g, x, w2, geo, need_x, need_w, need_b, x_shape=None):
    """Stride-1 backward from the columns of the padded gradient (pad q = d·(k−1) − p on each side).

    dx = conv(pad(g, q), flip(W) with in/out swapped) = W_f · cols_g, and, from the same columns,
    dW[o, c, i, j] = Σ_pixels x[c, pixel] · cols_g[(o, k−1−i, k−1−j), pixel]: the gradient shifted by
    tap (i, j) meets the input where the forward's tap (i, j) read it. So no forward columns are needed.
    """
    kh, kw, ph, pw, dh, dw = geo
    n, c, h, wd = x.shape if x is not None else x_shape
    cout = w2.shape[0]
    qh, qw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    if _rows_ok(wd, 2 * qw):
        cols_g, wp = im2col_rows(g, kh, kw, qh, qw, dh, dw, h)  # (C_out·kh·kw, N·H·Wp), columns x ≥ W dropped
    else:
        gp = pad_cnhw(g, qh, qw) if (qh or qw) else g
        cols_g, wp = im2col(gp, kh, kw, 1, 1, dh, dw, h, wd), wd
    gx = gw = gb = None
    if need_x:
        wf = np.ascontiguousarray(w2.reshape(cout, c, kh, kw)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        gx = (wf.reshape(c, -1) @ cols_g).reshape(c, n, h, wp)[:, :, :, :wd].transpose(1, 0, 2, 3)
    if need_w:
        xr = _as_cn(x) if wp == wd else _grad_rows(x, wp)  # (C, N·H·Wp), zeros where cols_g is dropped
        r = (xr @ cols_g.T).T  # (C_out·kh·kw, C): the long-K orientation, as in dense_backward
        gw = r.reshape(cout, kh, kw, c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    if need_b:
        g2 = _as_cn(g)
        gb = g2 @ np.ones(g2.shape[1], g2.dtype)
    return gx, gw, gb


def _input_grad_scatter(dcols, x_shape, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):
    """Strided col2im: add every column entry back to the pixel it was read from (one add per kernel tap)."""
    n, c, h, wd = x_shape
    dcols = dcols.reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros((c, n, h + 2 * ph, wd + 2 * pw), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[tap_slice(i, j, sh, sw, dh, dw, ho, wo)] += dcols[:, i, j]
    return dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3)


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
