"""Dropout, DropConnect, stochastic depth and fractional max pooling: their defining properties
(NOTES §7) — expected value preserved in training, identity (full weights, full net) at evaluation."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.ops.pool import fractional_intervals


def test_dropout_inverted_scaling_and_eval_identity():
    x = ember.ones(200, 500)
    drop = nn.Dropout(0.3)
    y = drop(x).array
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.005)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.01)  # E[y] = x
    drop.eval()
    assert drop(x) is x
    assert np.all(nn.Dropout(0.0)(x).array == 1) and np.all(nn.Dropout(1.0)(x).array == 0)


def test_dropout_masks_change_per_call_and_follow_the_seed():
    x = ember.ones(10, 10)
    drop = nn.Dropout(0.5)
    ember.manual_seed(3)
    a, b = drop(x).array.copy(), drop(x).array.copy()
    assert not np.array_equal(a, b)
    ember.manual_seed(3)
    np.testing.assert_array_equal(drop(x).array, a)


def test_dropout_float32_stays_float32():
    assert nn.Dropout(0.5)(ember.ones(4, 4)).dtype == np.float32
    assert nn.Dropout(0.5)(ember.ones(4, 4, dtype=ember.float64)).dtype == np.float64


def test_dropout2d_drops_whole_channels():
    x = ember.ones(50, 40, 3, 3)
    y = nn.Dropout2d(0.5)(x).array
    per_channel = y.reshape(50, 40, 9)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # each map all kept or all dropped
    assert (per_channel[:, :, 0] == 0).mean() == pytest.approx(0.5, abs=0.03)
    assert y.mean() == pytest.approx(1.0, abs=0.05)


def test_dropout_gradient_uses_the_same_mask():
    x = ember.ones(20, 20, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth(mode):
    """Survivors scaled by 1/(1 − p): E[out] = x; eval is the identity (the full network)."""
    sd = nn.StochasticDepth(0.25, mode)
    x = ember.ones(16, 3, 2, 2)
    draws = 2000  # batch mode: one Bernoulli per call, so the mean's std is ≈ 0.013
    outs = np.stack([sd(x).array for _ in range(draws)])
    per_sample = outs.reshape(draws, 16, -1)
    assert np.all(per_sample.min(axis=2) == per_sample.max(axis=2))  # one draw per sample
    whole = outs.reshape(draws, -1)
    same_for_batch = whole.min(axis=1) == whole.max(axis=1)
    assert same_for_batch.all() if mode == "batch" else same_for_batch.mean() < 0.1
    assert set(np.unique(outs)) <= {0.0, np.float32(1 / 0.75)}
    assert outs.mean() == pytest.approx(1.0, abs=0.05)
    sd.eval()
    assert sd(x) is x


def test_stochastic_depth_in_a_residual_block_keeps_the_identity_path():
    branch = nn.Linear(4, 4)
    sd = nn.StochasticDepth(1.0)
    x = ember.randn(3, 4)
    np.testing.assert_array_equal((x + sd(branch(x))).array, x.array)  # p = 1: branch always skipped
    assert isinstance(nn.DropPath(0.1), nn.StochasticDepth)


def _expected_output_dropconnect(layer, x, n=2000):
    return np.mean([layer(x).array for _ in range(n)], axis=0)


def test_linear_dropconnect_drops_weights_not_activations():
    ember.manual_seed(0)
    lin = nn.Linear(6, 4, dropconnect=0.5)
    x = ember.randn(3, 6)
    full = (x.array @ lin.weight.array.T + lin.bias.array)
    y = lin(x).array
    # one weight mask per call shared by every sample: y − b = x·(W⊙M)ᵀ/(1−p) is linear in x
    x2 = ember.tensor(np.stack([x.array[0], 2 * x.array[0]]))
    ember.manual_seed(5)
    y2 = lin(x2).array - lin.bias.array
    np.testing.assert_allclose(y2[1], 2 * y2[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(y, full)
    np.testing.assert_allclose(_expected_output_dropconnect(lin, x), full, atol=0.1)  # E[y] = full layer
    lin.eval()
    np.testing.assert_allclose(lin(x).array, full, rtol=1e-6)  # full weights at eval


def test_dropconnect_wrapper_mask_statistics_and_eval():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    dc = nn.DropConnect(conv, p=0.4)
    assert [n for n, _ in dc.named_parameters()] == ["module.weight", "module.bias"]
    x = ember.randn(2, 2, 5, 5)
    full = conv(x).array
    np.testing.assert_allclose(_expected_output_dropconnect(dc, x, 1500), full, atol=0.08)
    dc.eval()
    np.testing.assert_allclose(dc(x).array, full, rtol=1e-6)
    # the gradient reaches the wrapped weight through the mask only: dropped weights get 0
    dc.train()
    ember.manual_seed(11)
    x1 = ember.randn(1, 2, 5, 5)
    dc(x1).sum().backward()
    assert (conv.weight.grad.array == 0).mean() == pytest.approx(0.4, abs=0.2)


def test_dropconnect_wraps_any_layer_with_a_weight():
    prelu = nn.PReLU(3, init=0.5)
    dc = nn.DropConnect(prelu, p=0.5, weight_name="weight")
    x = -ember.ones(4, 3)
    outs = np.stack([dc(x).array for _ in range(400)])
    assert set(np.unique(outs)) <= {0.0, -1.0}  # slope 0.5 kept (scaled to 1) or dropped
    assert outs.mean() == pytest.approx(-0.5, abs=0.05)
    assert list(prelu._parameters) == ["weight"] and prelu.weight is dc.module.weight


def test_fractional_max_pool_regions_and_expected_ratio():
    """Output shrinks by a non-integer factor; regions are random per call, cover the input, start at
    0 and end at the last row (Graham 2014)."""
    pool = nn.FractionalMaxPool2d(2, output_ratio=1 / np.sqrt(2))
    x = ember.randn(2, 3, 20, 20)
    y1, y2 = pool(x), pool(x)
    assert y1.shape == (2, 3, 14, 14)
    assert not np.array_equal(y1.array, y2.array)  # fresh pseudo-random regions per call
    for u in np.linspace(0, 0.99, 7):
        starts = fractional_intervals(20, 14, 2, u)
        steps = np.diff(starts)
        assert starts[0] == 0 and starts[-1] == 18 and set(steps) <= {1, 2}
    # each output is a max over a 2×2 window of the input: bounded by the global max, ≥ its own region
    assert np.all(y1.array <= x.array.max(axis=(2, 3), keepdims=True))


def test_fractional_max_pool_matches_torch_with_the_same_samples(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 11, 9)).astype(np.float32)
    samples = np.random.default_rng(1).random((2, 3, 2)).astype(np.float32)
    samples[:] = samples[0, 0]  # ember draws one set of regions per batch
    ours = nn.FractionalMaxPool2d(3, output_size=(5, 4), _random_samples=ember.tensor(samples))
    theirs = torch.nn.FractionalMaxPool2d(3, output_size=(5, 4), _random_samples=torch.tensor(samples))
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = ours(xe), theirs(xt)
    np.testing.assert_allclose(ye.array, yt.detach().numpy(), rtol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.array, xt.grad.numpy(), rtol=1e-6)


def test_local_response_norm_inhibits_neighbours():
    """Lateral inhibition: a channel's output shrinks when its neighbours are strongly active."""
    lrn = nn.LocalResponseNorm(3, alpha=1.0, beta=0.75, k=1.0)
    quiet = ember.tensor(np.array([[[0.0], [1.0], [0.0], [0.0], [0.0]]], np.float32))
    loud = ember.tensor(np.array([[[5.0], [1.0], [5.0], [0.0], [0.0]]], np.float32))
    far = ember.tensor(np.array([[[0.0], [1.0], [0.0], [0.0], [5.0]]], np.float32))
    assert lrn(loud).array[0, 1, 0] < lrn(quiet).array[0, 1, 0]
    assert lrn(far).array[0, 1, 0] == pytest.approx(lrn(quiet).array[0, 1, 0])  # outside the window
    expected = 1.0 / (1.0 + (1.0 / 3) * (25 + 1 + 25)) ** 0.75
    assert lrn(loud).array[0, 1, 0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.Dropout2d(0.5), nn.StochasticDepth(0.5),
                                   nn.FractionalMaxPool2d(2, output_size=3)], ids=lambda l: type(l).__name__)
def test_functional_forms_validate(layer):
    x = ember.randn(2, 3, 6, 6)
    assert layer(x).shape[:2] == (2, 3)


def test_functional_dropout_validates_p():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(ember.ones(3), 1.5)
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        F.stochastic_depth(ember.ones(3, 2), 0.2, mode="col")
