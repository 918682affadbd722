"""Every path of the convolution kernels against a direct float64 definition of the convolution.

The kernels pick among several layouts (flattened-row columns, plain im2col, 1×1 matmul, gather or
scatter input gradients, depthwise taps, per-group dense); each geometry below forces one path."""
import numpy as np
import pytest

from ember.backend import conv2d as C


def reference(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, cout, ho, wo))
    og = cout // groups
    for o in range(cout):
        gi = o // og
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, gi * cg:(gi + 1) * cg, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                           j * dw:j * dw + sw * (wo - 1) + 1:sw]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
        if b is not None:
            out[:, o] += b[o]
    return out


def reference_grads(x, w, g, stride, padding, dilation, groups):
    """dx and dW of <g, conv(x, W)> by the definition: each tap's patch meets g (the conv is linear in each)."""
    n, c, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = g.shape[2:]
    dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dw_ = np.zeros(w.shape)
    og = cout // groups
    for o in range(cout):
        cs = slice(o // og * cg, (o // og + 1) * cg)
        for i in range(kh):
            for j in range(kw):
                win = (slice(None), cs, slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                       slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
                dw_[o, :, i, j] = np.einsum("nhw,nchw->c", g[:, o], xp[win])
                dxp[win] += np.einsum("nhw,c->nchw", g[:, o], w[o, :, i, j])
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw_


def run(x, w, b, stride, padding, dilation, groups, g, need_x=True):
    cout, cg = w.shape[:2]
    if groups == 1:
        out, cache = C.dense_forward(x, w, b, stride, padding, dilation)
        return out, C.dense_backward(g, cache, need_x, True, b is not None)
    assert cg == 1
    out, cache = C.depthwise_forward(x, w, b, stride, padding, dilation)
    return out, C.depthwise_backward(g, cache, need_x, True, b is not None)


GEOMETRIES = [
    # (N, C, H, W, C_out, k, stride, pad, dil, groups)      path
    (2, 3, 8, 8, 4, 3, 1, 1, 1, 1),   # rows columns + gather input gradient
    (2, 2, 8, 8, 6, 3, 1, 1, 1, 1),   # rows columns + scatter (C_out > 2 C)
    (2, 3, 6, 5, 4, 3, 2, 1, 1, 1),   # strided im2col + scatter
    (2, 2, 7, 6, 6, 5, 1, 0, 1, 1),   # plain im2col (narrow output) + stride-1 row scatter
    (1, 2, 9, 9, 7, 3, 1, 1, 2, 1),   # dilated row columns + row scatter
    (2, 3, 9, 9, 2, 3, 1, 0, 1, 1),   # no padding: gather with positive re-padding
    (2, 3, 5, 6, 4, 3, 1, 2, 1, 1),   # padding = k − 1: gather with no re-padding, gradient wider than x
    (1, 2, 7, 12, 3, 3, 1, 2, 2, 1),  # dilation
    (2, 4, 5, 5, 3, 1, 1, 0, 1, 1),   # 1×1 matmul
    (2, 3, 4, 4, 2, 5, 1, 0, 1, 1),   # kernel wider than most of the input: plain im2col
    (2, 3, 6, 6, 3, 3, 1, 1, 1, 3),   # depthwise
    (2, 2, 7, 7, 4, 3, 2, 1, 1, 2),   # depthwise, channel multiplier 2, stride 2
]


@pytest.mark.parametrize("geo", GEOMETRIES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need_x", [True, False], ids=["dx-and-dW", "dW-only"])
@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "image-chunks"])
def test_kernels_match_the_definition(geo, bias, need_x, chunked, monkeypatch):
    """With dx asked for, stride-1 gather geometries take dW from the gradient's columns; with dW alone it
    comes from x's rebuilt columns. Both must give the same gradients, whether the columns are built for the
    whole batch or one image at a time."""
    if chunked:
        monkeypatch.setattr(C, "CHUNK_BYTES", 1)
    n, c, h, wd, cout, k, s, p, d, groups = geo
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((cout, c // groups, k, k))
    b = rng.standard_normal(cout) if bias else None
    ref = reference(x, w, b, (s, s), (p, p), (d, d), groups)
    g = rng.standard_normal(ref.shape)
    out, (gx, gw, gb) = run(x, w, b, (s, s), (p, p), (d, d), groups, g, need_x)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    gx_ref, gw_ref = reference_grads(x, w, g, (s, s), (p, p), (d, d), groups)
    if need_x:
        np.testing.assert_allclose(gx, gx_ref, rtol=1e-10, atol=1e-10)
    else:
        assert gx is None
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-10, atol=1e-10)
    # gradients: the adjoint identities <g, conv(x)> differentiated by x, w, b
    eps = 1e-6
    for arr, grad in ((x, gx), (w, gw)) if need_x else ((w, gw),):
        idx = tuple(rng.integers(0, m) for m in arr.shape)
        orig = arr[idx]
        arr[idx] = orig + eps
        fp = np.sum(reference(x, w, b, (s, s), (p, p), (d, d), groups) * g)
        arr[idx] = orig - eps
        fm = np.sum(reference(x, w, b, (s, s), (p, p), (d, d), groups) * g)
        arr[idx] = orig
        assert grad[idx] == pytest.approx((fp - fm) / (2 * eps), rel=1e-5, abs=1e-6)
    if bias:
        np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=1e-10)


@pytest.mark.parametrize("geo", [g for g in GEOMETRIES if g[-1] == 1])
def test_no_columns_are_kept_for_backward(geo):
    n, c, h, wd, cout, k, s, p, d, groups = geo
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((n, c, h, wd)), rng.standard_normal((cout, c, k, k))
    cache = C.dense_forward(x, w, None, (s, s), (p, p), (d, d))[1]
    kept = [a for a in cache if isinstance(a, np.ndarray)]
    assert sum(a.nbytes for a in kept) == x.nbytes + w.nbytes  # x and the weight matrix, nothing else


@pytest.mark.parametrize("stride,padding,dilation", [((1, 1), (1, 1), (1, 1)), ((2, 2), (1, 0), (1, 1)),
                                                     ((1, 1), (0, 0), (2, 1)), ((3, 2), (2, 2), (1, 2))])
def test_input_grad_needs_only_the_shape_of_x(stride, padding, dilation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    out, _ = C.dense_forward(x, w, None, stride, padding, dilation)
    g = rng.standard_normal(out.shape)
    gx, _ = reference_grads(x, w, g, stride, padding, dilation, 1)
    np.testing.assert_allclose(C.input_grad(g, w, x.shape, stride, padding, dilation), gx, rtol=1e-10, atol=1e-10)
