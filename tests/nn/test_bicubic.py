"""Bicubic interpolation (and antialiased bilinear/bicubic): parity with torch's interpolate for upsampling and
downsampling, sizes and scale factors, both align_corners conventions, values and gradients; float64 gradient
checks; properties that hold without torch; and the argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from ember.ops.resample import cubic_weights, interp_matrix
from tests.helpers import assert_close
from tests.nn.util import randn

RESIZES = [dict(size=(9, 11)), dict(size=(3, 2)), dict(size=(1, 1)), dict(size=(2, 17)), dict(scale_factor=2),
           dict(scale_factor=0.5), dict(scale_factor=(1.7, 0.6)), dict(scale_factor=2.5), dict(scale_factor=3),
           dict(scale_factor=(0.45, 1.3), recompute_scale_factor=True)]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items())


def _parity(torch, x, what="", **kw):
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye = F.interpolate(xe, **kw)
    yt = torch.nn.functional.interpolate(xt, **kw)
    assert_close(ye, yt, what=f"{what} {kw} output")
    up = randn(*ye.shape, seed=3)
    ye.backward(ember.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, what=f"{what} {kw} input grad")


@pytest.mark.parametrize("align_corners", [None, False, True])
@pytest.mark.parametrize("resize", RESIZES, ids=_ids)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 8, 8), (1, 1, 3, 4), (2, 1, 13, 6)])
def test_bicubic_parity(torch, shape, resize, align_corners):
    _parity(torch, randn(*shape, seed=sum(shape)), str(shape), mode="bicubic", align_corners=align_corners,
            **resize)


@pytest.mark.parametrize("align_corners", [None, True])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("resize", [dict(size=(9, 11)), dict(size=(3, 2)), dict(size=(2, 17)),
                                    dict(scale_factor=0.5), dict(scale_factor=(1.7, 0.3)),
                                    dict(scale_factor=0.4, recompute_scale_factor=True)], ids=_ids)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 16, 9), (1, 1, 6, 10)])
def test_antialias_parity(torch, shape, resize, mode, align_corners):
    """Antialiasing widens the filter by the shrink factor (a = −0.5 for the cubic, as Pillow). (torch returns
    wrong values when an antialiased output is one pixel wide, so no case here produces that.)"""
    _parity(torch, randn(*shape, seed=1), str(shape), mode=mode, align_corners=align_corners, antialias=True,
            **resize)


def test_bicubic_parity_float64_and_upsample_layer(torch):
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 5))
    ye = F.interpolate(ember.tensor(x), scale_factor=1.5, mode="bicubic")
    yt = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.5, mode="bicubic")
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=1e-12, atol=1e-12)
    for kw in (dict(scale_factor=2), dict(size=(4, 9), align_corners=True), dict(size=3)):
        layer, tlayer = nn.Upsample(mode="bicubic", **kw), torch.nn.Upsample(mode="bicubic", **kw)
        x32 = randn(1, 3, 5, 6, seed=4)
        xe, xt = ember.tensor(x32, requires_grad=True), torch.tensor(x32, requires_grad=True)
        ye, yt = layer(xe), tlayer(xt)
        assert_close(ye, yt, what=f"Upsample {kw}")
        ye.sum().backward()
        yt.sum().backward()
        assert_close(xe.grad, xt.grad, what=f"Upsample {kw} grad")


@pytest.mark.parametrize("kw", [dict(size=(7, 9)), dict(size=(7, 9), align_corners=True), dict(size=(2, 3)),
                                dict(scale_factor=(0.6, 1.4)), dict(size=(2, 3), antialias=True),
                                dict(size=(7, 2), antialias=True, align_corners=True)], ids=_ids)
def test_gradcheck_float64(kw):
    x = ember.tensor(np.random.default_rng(5).standard_normal((1, 2, 4, 5)), dtype=ember.float64, requires_grad=True)
    gradcheck(lambda v: F.interpolate(v, mode="bicubic", **kw), x)


def test_cubic_kernel_and_matrix_properties():
    t = np.linspace(0, 1, 11)
    w = cubic_weights(t)
    np.testing.assert_allclose(w.sum(axis=-1), 1, atol=1e-15)  # partition of unity
    np.testing.assert_allclose(w[0], [0, 1, 0, 0], atol=1e-15)  # interpolating: exact at the samples
    np.testing.assert_allclose(cubic_weights(np.array(0.5)), [-0.09375, 0.59375, 0.59375, -0.09375])
    a = interp_matrix(4, 9, "cubic", None, False, np.float64)
    np.testing.assert_allclose(a.sum(axis=1), 1, atol=1e-15)
    # rows near the border pile the weights of the clamped (repeated) border pixel onto it
    src = 0.5 * 4 / 9 - 0.5
    np.testing.assert_allclose(a[0], [cubic_weights(src + 1)[:3].sum(), cubic_weights(src + 1)[3], 0, 0],
                               atol=1e-15)
    np.testing.assert_array_equal(interp_matrix(6, 6, "cubic", None, False, np.float64), np.eye(6))


def test_bicubic_properties():
    x = randn(2, 3, 5, 6, seed=6)
    same = F.interpolate(ember.tensor(x), size=(5, 6), mode="bicubic")
    np.testing.assert_allclose(same.numpy(), x, atol=1e-6)
    const = F.interpolate(ember.full((1, 1, 4, 4), 2.5), scale_factor=3.3, mode="bicubic")
    np.testing.assert_allclose(const.numpy(), 2.5, rtol=1e-6)
    big = F.interpolate(ember.tensor(x), size=(13, 11), mode="bicubic", align_corners=True).numpy()
    np.testing.assert_allclose(big[..., [0, 0, -1, -1], [0, -1, 0, -1]], x[..., [0, 0, -1, -1], [0, -1, 0, -1]],
                               atol=1e-6)  # the corner pixels' centres align
    step = np.zeros((1, 1, 1, 8), np.float32)
    step[..., 4:] = 1
    up = F.interpolate(ember.tensor(np.repeat(step, 4, axis=2)), size=(4, 32), mode="bicubic").numpy()
    assert up.min() < -0.01 and up.max() > 1.01  # cubic convolution overshoots at edges (bilinear never does)
    assert F.interpolate(ember.tensor(x.astype(np.float64)), scale_factor=2, mode="bicubic").dtype == ember.float64


@pytest.mark.parametrize("call, match", [
    (lambda: F.interpolate(ember.randn(1, 2, 5), scale_factor=2, mode="bicubic"), "'bicubic' needs a 4-D input"),
    (lambda: F.interpolate(ember.randn(1, 2, 5, 5), scale_factor=2, mode="nearest", antialias=True),
     "antialias=True is restricted to the bilinear and bicubic modes"),
    (lambda: F.interpolate(ember.randn(1, 2, 5), scale_factor=2, mode="linear", antialias=True),
     "antialias=True is restricted"),
    (lambda: F.interpolate(ember.randn(1, 2, 5, 5), scale_factor=2, mode="area", align_corners=True),
     "linear \\| bilinear \\| bicubic"),
    (lambda: nn.Upsample(scale_factor=2, mode="nearest", align_corners=False), "linear \\| bilinear \\| bicubic"),
    (lambda: nn.Upsample(scale_factor=2, mode="bicubi"), "mode 'bicubi' is not supported"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
