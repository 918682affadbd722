"""The channel-block batch-norm kernel against the formulas, in one block and in many, in either layout."""
import numpy as np
import pytest

from ember.backend import batchnorm as B


def reference(x, w, b, eps, g):
    axes = (0,) + tuple(range(2, x.ndim))
    cs = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    xhat = (x - mu.reshape(cs)) / np.sqrt(var.reshape(cs) + eps)
    y = xhat * (1 if w is None else w.reshape(cs)) + (0 if b is None else b.reshape(cs))
    m = x.size // x.shape[1]
    gb, gw = g.sum(axis=axes), (g * xhat).sum(axis=axes)
    scale = 1 / np.sqrt(var + eps) * (1 if w is None else w)
    gx = (g - gb.reshape(cs) / m - xhat * gw.reshape(cs) / m) * scale.reshape(cs)
    return y, mu, var, gx, gw, gb


@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (7, 5), (3, 4, 9)])
@pytest.mark.parametrize("layout", ["nchw", "cnhw"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("blocks", ["one", "per-channel"])
def test_kernel_matches_the_formulas(shape, layout, affine, blocks, monkeypatch):
    if blocks == "per-channel":
        monkeypatch.setattr(B, "CHUNK_BYTES", 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    if layout == "cnhw":  # a conv's output: channel-major memory seen as (N, C, ...)
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    g = rng.standard_normal(shape)
    w, b = (rng.standard_normal(shape[1]), rng.standard_normal(shape[1])) if affine else (None, None)
    y_ref, mu_ref, var_ref, gx_ref, gw_ref, gb_ref = reference(x, w, b, 1e-5, g)
    y, xhat, invstd, mu, var = B.train_forward(x, w, b, 1e-5)
    for got, want in ((y, y_ref), (mu, mu_ref), (var, var_ref), (invstd, 1 / np.sqrt(var_ref + 1e-5))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    gx, gw, gb = B.train_backward(g, xhat, invstd, w, True)
    for got, want in ((gx, gx_ref), (gw, gw_ref), (gb, gb_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert B.train_backward(g, xhat, invstd, w, False)[0] is None


def test_float32_stays_float32():
    x = np.random.default_rng(1).standard_normal((8, 3, 4, 4)).astype(np.float32)
    outs = B.train_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), 1e-5)
    assert all(a.dtype == np.float32 for a in outs)
    grads = B.train_backward(np.ones_like(x), outs[1], outs[2], np.ones(3, np.float32), True)
    assert all(a.dtype == np.float32 for a in grads)
