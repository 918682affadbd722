"""Adaptive max pooling with return_indices: values, indices (flat h·W + w per plane) and gradients against torch on
even and uneven (overlapping) bin splits, ties and nan, unbatched inputs, and MaxUnpool2d fed those indices."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from ember.ops.pool import adaptive_bins
from tests.helpers import assert_close
from tests.nn.util import randn

# (input H, W) and output sizes: even splits, uneven (overlapping bins), None keeping a side, bigger than input
CASES = [((8, 6), (4, 3)), ((8, 6), 2), ((7, 9), (3, 4)), ((7, 9), (5, 5)), ((5, 11), (None, 4)), ((6, 5), (6, 5)),
         ((3, 4), (5, 7)), ((9, 9), 1)]


def _ids(case):
    return f"{case[0]}->{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_parity_values_indices_gradients(torch, case):
    (h, w), out = case
    x = randn(2, 3, h, w, seed=h * w)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, ie = F.adaptive_max_pool2d(xe, out, return_indices=True)
    yt, it = torch.nn.functional.adaptive_max_pool2d(xt, out, return_indices=True)
    assert_close(ye, yt, what="values")
    assert ie.dtype == ember.int64
    np.testing.assert_array_equal(ie.numpy(), it.numpy())
    up = randn(*ye.shape, seed=1)
    ye.backward(ember.tensor(up))
    yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, what="input grad")  # overlapping bins add up at a shared maximum


@pytest.mark.parametrize("case", CASES[:4], ids=_ids)
def test_layer_parity_batched_and_unbatched(torch, case):
    (h, w), out = case
    layer, tlayer = nn.AdaptiveMaxPool2d(out, return_indices=True), torch.nn.AdaptiveMaxPool2d(out, True)
    for shape in ((2, 3, h, w), (3, h, w)):
        x = randn(*shape, seed=2)
        (ye, ie), (yt, it) = layer(ember.tensor(x)), tlayer(torch.tensor(x))
        assert_close(ye, yt, what=f"{shape} values")
        np.testing.assert_array_equal(ie.numpy(), it.numpy())
    ye = nn.AdaptiveMaxPool2d(out)(ember.tensor(x))  # without indices: a single tensor, as before
    assert isinstance(ye, ember.Tensor)


def test_parity_ties_and_nan(torch):
    """Ties go to the first maximum in row-major bin order; a bin holding nan points at its last nan."""
    x = np.random.default_rng(3).integers(0, 3, (2, 2, 7, 9)).astype(np.float32)
    x[0, 0, 1, 2] = x[0, 0, 4, 7] = x[1, 1, 0, 0] = x[1, 1, 0, 2] = np.nan
    ye, ie = F.adaptive_max_pool2d(ember.tensor(x), (3, 4), return_indices=True)
    yt, it = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), (3, 4), return_indices=True)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())  # nan where torch has nan
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


@pytest.mark.parametrize("case", [((8, 6), (4, 3), 2), ((7, 9), (3, 4), 2), ((9, 9), (3, 3), 3)],
                         ids=lambda c: f"{c[0]}->{c[1]}")
def test_max_unpool2d_takes_the_indices(torch, case):
    (h, w), out, k = case
    x = randn(2, 3, h, w, seed=4)
    ye, ie = F.adaptive_max_pool2d(ember.tensor(x), out, return_indices=True)
    yt, it = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    ye, yt = ye.detach().requires_grad_(), yt.detach().requires_grad_()
    ue = nn.MaxUnpool2d(k)(ye, ie, output_size=(h, w))
    ut = torch.nn.MaxUnpool2d(k)(yt, it, output_size=(h, w))
    np.testing.assert_array_equal(ue.detach().numpy(), ut.detach().numpy())
    up = randn(2, 3, h, w, seed=5)
    ue.backward(ember.tensor(up))
    ut.backward(torch.tensor(up))
    assert_close(ye.grad, yt.grad, what="unpool grad")


def test_indices_point_at_the_maxima_of_their_bins():
    x = randn(2, 3, 7, 10, seed=6)
    out, idx = F.adaptive_max_pool2d(ember.tensor(x), (3, 4), return_indices=True)
    i = idx.numpy()
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), i.reshape(2, 3, -1), 2).reshape(i.shape),
                                  out.numpy())
    rows, cols = i // 10, i % 10
    for a, (h0, h1) in enumerate(adaptive_bins(7, 3)):
        for b, (w0, w1) in enumerate(adaptive_bins(10, 4)):
            assert ((rows[..., a, b] >= h0) & (rows[..., a, b] < h1)).all()
            assert ((cols[..., a, b] >= w0) & (cols[..., a, b] < w1)).all()
            np.testing.assert_array_equal(out.numpy()[..., a, b], x[..., h0:h1, w0:w1].max(axis=(-2, -1)))
    np.testing.assert_array_equal(out.numpy(), F.adaptive_max_pool2d(ember.tensor(x), (3, 4)).numpy())


@pytest.mark.parametrize("out", [(2, 3), (3, 2), 1])
def test_gradcheck_float64(out):
    x = ember.tensor(np.random.default_rng(7).standard_normal((1, 2, 5, 5)), dtype=ember.float64, requires_grad=True)
    gradcheck(lambda v: F.adaptive_max_pool2d(v, out, return_indices=True)[0], x)
    gradcheck(lambda v: F.adaptive_max_pool2d(v, out), x)


def test_errors():
    with pytest.raises(RuntimeError, match=r"expects a 4-D input \(N, C, H, W\), got shape \(3, 4, 4\)"):
        F.adaptive_max_pool2d(ember.randn(3, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="output_size must be positive"):
        F.adaptive_max_pool2d(ember.randn(1, 3, 4, 4), (0, 2), return_indices=True)
    with pytest.raises(ValueError, match="expects a \\(N, C, H, W\\) or \\(C, H, W\\) input"):
        nn.AdaptiveMaxPool2d(2, return_indices=True)(ember.randn(4, 4))
