"""3-D convolution (F.conv3d, nn.Conv3d): outputs and the gradients of input, weight and bias against torch on
strided, padded, dilated, grouped, depthwise, 'same'/'valid' and unbatched geometries and on every chunking
path of the kernel; float64 finite-difference checks; PyTorch's default initialisation; the error messages;
and a tiny 3-D CNN (Conv3d → BatchNorm3d → ReLU → MaxPool3d → AdaptiveAvgPool3d → Linear) that trains."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.backend import conv3d as B
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn

# (input shape, weight shape, keyword arguments)
CASES = [
    ((2, 3, 5, 6, 7), (4, 3, 3, 3, 3), dict()),
    ((2, 3, 7, 6, 8), (4, 3, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 2, 8, 7, 9), (3, 2, 3, 2, 3), dict(stride=(1, 2, 3), padding=(2, 0, 1), dilation=(2, 1, 2))),
    ((2, 4, 5, 5, 6), (6, 2, 3, 1, 2), dict(groups=2, padding=(1, 0, 1))),
    ((2, 4, 6, 5, 5), (4, 1, 3, 3, 3), dict(groups=4, padding=1, stride=(2, 1, 1))),  # depthwise
    ((1, 3, 5, 6, 5), (6, 1, 2, 3, 2), dict(groups=3, dilation=(2, 1, 1))),  # depthwise, channel multiplier 2
    ((2, 5, 3, 4, 5), (3, 5, 1, 1, 1), dict()),  # pointwise
    ((2, 2, 4, 5, 6), (3, 2, 1, 1, 1), dict(stride=2)),  # strided pointwise
    ((2, 2, 5, 6, 7), (3, 2, 3, 3, 3), dict(padding="same")),
    ((1, 2, 5, 6, 7), (3, 2, 2, 3, 4), dict(padding="same", dilation=(1, 2, 1))),  # even: one more at the end
    ((2, 2, 5, 6, 7), (3, 2, 3, 2, 3), dict(padding="valid")),
    ((3, 5, 6, 7), (4, 3, 3, 3, 3), dict(padding=1)),  # unbatched
]


def _leaves(lib, *arrays):
    return [None if a is None else lib.tensor(a, requires_grad=True) for a in arrays]


def _conv_parity(torch, xs, ws, kw, bias=True, seed=0):
    x, w = randn(*xs, seed=seed), randn(*ws, seed=seed + 1)
    b = randn(ws[0], seed=seed + 2) if bias else None
    xe, we, be = _leaves(ember, x, w, b)
    xt, wt, bt = _leaves(torch, x, w, b)
    ye, yt = F.conv3d(xe, we, be, **kw), torch.nn.functional.conv3d(xt, wt, bt, **kw)
    assert_close(ye, yt, rtol=1e-4, atol=1e-4, what=f"conv3d {xs} {ws} {kw} output")
    up = randn(*yt.shape, seed=seed + 3)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    for name, a, t in (("input", xe, xt), ("weight", we, wt), ("bias", be, bt)):
        if a is not None:
            assert a.grad is not None, f"no gradient reached the {name}"
            assert_close(a.grad, t.grad, rtol=1e-4, atol=1e-4, what=f"conv3d {xs} {ws} {kw} grad of {name}")


@pytest.mark.parametrize("xs,ws,kw", CASES, ids=str)
def test_conv3d_matches_torch(torch, xs, ws, kw):
    _conv_parity(torch, xs, ws, kw)


def test_conv3d_without_bias_matches_torch(torch):
    _conv_parity(torch, (2, 3, 5, 4, 6), (4, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=1), bias=False)


@pytest.mark.parametrize("budget", [10_000, 30_000, 200_000], ids=["depth-planes", "few-planes", "whole-images"])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=(1, 0, 2), dilation=(1, 2, 1))], ids=str)
def test_conv3d_chunking_matches_torch(torch, monkeypatch, budget, kw):
    """Small column budgets force chunks of a few depth planes of one image (whose input gradients overlap and are
    added in turn) or of several whole images (run side by side): each must give torch's numbers."""
    monkeypatch.setattr(B, "CHUNK_BYTES", budget)
    chunks = B._plan(3, 9, 4 * 27 * 4 * 7 * 6)
    assert len(chunks) > 1
    _conv_parity(torch, (3, 4, 9, 7, 6), (5, 4, 3, 3, 3), kw, seed=5)


@st.composite
def geometry(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, 1)) for _ in range(3))
    size = tuple(draw(st.integers(max(d[a] * (k[a] - 1) + 1 - 2 * p[a], 1), 6)) for a in range(3))
    return (draw(st.integers(1, 2)), cin) + size, (cout, cin // groups) + k, dict(stride=s, padding=p, dilation=d,
                                                                                 groups=groups)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=geometry(), seed=st.integers(0, 2**16))
def test_conv3d_random_geometry_matches_torch(torch, g, seed):
    _conv_parity(torch, *g, seed=seed)


# --------------------------------------------------------------------------- the layer

LAYER_CASES = [
    (dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 5, 6, 5)),
    (dict(in_channels=4, out_channels=6, kernel_size=(3, 2, 3), stride=2, padding=(1, 1, 0), groups=2), (2, 4, 7, 6, 6)),
    (dict(in_channels=4, out_channels=4, kernel_size=3, padding=2, dilation=2, groups=4, bias=False), (1, 4, 5, 6, 7)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding="same"), (2, 2, 4, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=(2, 3, 3), padding="same"), (2, 2, 4, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"), (2, 2, 4, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="reflect"), (2, 2, 4, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=(1, 2, 1), padding_mode="replicate"), (2, 2, 4, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1, padding_mode="circular"), (2, 2, 5, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=(2, 3, 3), padding="same", padding_mode="reflect"),
     (2, 2, 4, 5, 6)),
    (dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), (3, 4, 5, 6)),  # unbatched
]


@pytest.mark.parametrize("kw,shape", LAYER_CASES, ids=str)
def test_conv3d_layer_matches_torch(torch, kw, shape):
    layer, tlayer = nn.Conv3d(**kw), torch.nn.Conv3d(**kw)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(*shape), rtol=1e-4, atol=1e-4, what=f"Conv3d {kw}")
    assert repr(layer) == repr(tlayer)


def test_conv3d_default_init_matches_torch_bounds(torch):
    """PyTorch's default: weight and bias uniform in ±1/√fan_in, fan_in = C_in/groups·kD·kH·kW."""
    layer = nn.Conv3d(16, 32, (3, 4, 5), groups=2)
    tlayer = torch.nn.Conv3d(16, 32, (3, 4, 5), groups=2)
    bound = 1 / np.sqrt(8 * 3 * 4 * 5)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert layer.weight.shape == tuple(tlayer.weight.shape) == (32, 8, 3, 4, 5)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    tw = tlayer.weight.detach().numpy()
    assert abs(w.std() - tw.std()) < 0.05 * tw.std()  # uniform: std = bound/√3
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert abs(w.mean()) < 0.05 * bound


def test_conv3d_layer_init_option():
    """``init=`` names another scheme, as for Conv2d; the bias keeps PyTorch's default."""
    layer = nn.Conv3d(2, 3, 3, init="zeros")
    assert not layer.weight.detach().numpy().any()
    assert layer.bias.detach().numpy().any()


# --------------------------------------------------------------------------- float64 finite differences

def _x(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ember.float64, requires_grad=True)


GRAD_CASES = [
    ((2, 2, 3, 4, 4), (3, 2, 2, 2, 2), dict()),
    ((1, 2, 5, 4, 5), (2, 2, 3, 2, 3), dict(stride=2, padding=1)),
    ((1, 2, 5, 5, 4), (2, 1, 2, 2, 2), dict(dilation=(2, 1, 1), padding=(0, 1, 1), groups=2)),
    ((2, 2, 3, 3, 4), (4, 1, 2, 2, 1), dict(groups=2, stride=(1, 2, 1))),  # depthwise ×2
    ((1, 4, 3, 3, 3), (2, 2, 2, 1, 2), dict(groups=2)),  # grouped (dense per group)
    ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2), dict(padding="same")),  # even kernel: asymmetric padding
    ((2, 3, 3, 4), (2, 2, 1, 2, 2), dict(padding=(1, 0, 0))),  # unbatched
]


@pytest.mark.parametrize("xs,ws,kw", GRAD_CASES, ids=str)
def test_conv3d_gradcheck(xs, ws, kw):
    gradcheck(lambda x, w, b: F.conv3d(x, w, b, **kw), _x(*xs), _x(*ws, seed=1), _x(ws[0], seed=2))


def test_conv3d_gradcheck_depth_chunks(monkeypatch):
    monkeypatch.setattr(B, "CHUNK_BYTES", 2000)
    assert len(B._plan(2, 4, 2 * 8 * 4 * 8)) > 2
    gradcheck(lambda x, w: F.conv3d(x, w, padding=1), _x(2, 2, 4, 4, 4), _x(3, 2, 2, 2, 2, seed=1))


def test_conv3d_layer_gradcheck():
    layer = nn.Conv3d(2, 3, (2, 3, 2), stride=(1, 2, 1), padding=(1, 1, 0), padding_mode="replicate").double()
    gradcheck(lambda x, w, b: layer(x), _x(1, 2, 3, 4, 3), layer.weight, layer.bias)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call,match", [
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(4, 2, 3, 3, 3)), r"3 channels.*\(4, 2, 3, 3, 3\)"),
    (lambda: F.conv3d(ember.randn(1, 4, 4, 4, 4), ember.randn(3, 2, 3, 3, 3), groups=2), r"groups=2 does not divide"),
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(4, 3, 3, 3, 3), ember.randn(5)), r"bias of shape \(5,\)"),
    (lambda: F.conv3d(ember.randn(1, 3, 2, 4, 4), ember.randn(4, 3, 3, 3, 3)), r"too small.*output would be 0x2x2"),
    (lambda: F.conv3d(ember.randn(3, 4, 4), ember.randn(4, 3, 3, 3, 3)), r"5-D.*\(3, 4, 4\)"),
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(4, 3, 3, 3)), r"5-D weight.*\(4, 3, 3, 3\)"),
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(3, 3, 3, 3, 3), groups=0), r"groups must be a positive"),
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(3, 3, 3, 3, 3), stride=0), r"stride \(0, 0, 0\)"),
    (lambda: F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(3, 3, 3, 3, 3), stride=(1, 2)), r"triple"),
    (lambda: F.conv3d(ember.randn(1, 3, 5, 5, 5), ember.randn(3, 3, 3, 3, 3), padding="same", stride=2), r"stride 1"),
    (lambda: F.conv3d(ember.randn(1, 3, 5, 5, 5), ember.randn(3, 3, 3, 3, 3), padding="full"), r"'valid' or 'same'"),
])
def test_conv3d_errors(call, match):
    with pytest.raises((RuntimeError, ValueError), match=match):
        call()


@pytest.mark.parametrize("make,match", [
    (lambda: nn.Conv3d(3, 4, 3, groups=2), r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv3d(2, 4, (3, 3)), r"kernel_size must be an int or a triple"),
    (lambda: nn.Conv3d(2, 4, 3, stride=2, padding="same"), r"strided"),
    (lambda: nn.Conv3d(2, 4, 3, padding_mode="mirror"), r"padding_mode"),
    (lambda: nn.Conv3d(2, 4, 0), r"kernel_size must be a positive integer"),
    (lambda: nn.Conv3d(2, 4, 3)(ember.randn(1, 3, 4, 4, 4)), r"3 channels, expected in_channels=2"),
    (lambda: nn.Conv3d(2, 4, 3)(ember.randn(2, 4, 4)), r"\(N, C, D, H, W\) or \(C, D, H, W\)"),
])
def test_conv3d_layer_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --------------------------------------------------------------------------- a tiny 3-D CNN


def _tiny_cnn(lib):
    n = lib.nn
    return n.Sequential(n.Conv3d(2, 4, 3, padding=1), n.BatchNorm3d(4), n.ReLU(), n.MaxPool3d(2),
                        n.AdaptiveAvgPool3d(1), n.Flatten(), n.Linear(4, 3))


def test_tiny_3d_cnn_trains():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((6, 2, 4, 6, 6)).astype(np.float32))
    y = ember.tensor(np.array([0, 1, 2, 0, 1, 2]))
    model = _tiny_cnn(ember)
    opt = ember.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    losses = []
    for _ in range(12):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses
    model.eval()
    assert model(x).shape == (6, 3)


def test_tiny_3d_cnn_steps_match_torch(torch):
    """Same weights, data and SGD steps: the losses and the final weights agree with torch's."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 4, 6, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    model, tmodel = _tiny_cnn(ember), _tiny_cnn(torch)
    copy_to_torch(model, tmodel, torch)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1)
    for step in range(4):
        opt.zero_grad()
        topt.zero_grad()
        loss = F.cross_entropy(model(ember.tensor(x)), ember.tensor(y))
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        assert_close(loss, tloss, rtol=1e-4, atol=1e-5, what=f"loss at step {step}")
    tstate = tmodel.state_dict()
    for name, v in model.state_dict().items():
        assert_close(v, tstate[name], rtol=1e-3, atol=1e-4, what=name)
