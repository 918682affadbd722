"""Initializers: each fills in place, keeps the dtype, draws from ember's generator, and for large tensors
has the empirical mean and std its formula gives (NOTES §5)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init


def _w(*shape, dtype=ember.float32):
    return ember.zeros(*shape, dtype=dtype)


def _stats(t):
    d = t.array.astype(np.float64)
    return d.mean(), d.std()


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(_w(10, 20)) == (20, 10)
    assert init._calculate_fan_in_and_fan_out(_w(128, 64, 3, 3)) == (576, 1152)
    conv = nn.Conv2d(8, 16, 3, groups=4)  # fan_in = k·k·C_in/groups
    assert init._calculate_fan_in_and_fan_out(conv.weight) == (3 * 3 * 8 // 4, 16 * 9)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_w(5))


def test_calculate_gain_table(torch):
    for nl in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu"):
        assert init.calculate_gain(nl) == pytest.approx(torch.nn.init.calculate_gain(nl))
    for a in (None, 0.2, 0.0):
        assert init.calculate_gain("leaky_relu", a) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", a))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swishy")


def test_kaiming_normal_of_a_3x3_conv_with_64_inputs():
    """The acceptance example: std √(2/576)."""
    w = nn.Conv2d(64, 256, 3).weight
    out = init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
    assert out is w
    mean, std = _stats(w)
    assert abs(mean) < 0.002
    assert std == pytest.approx(math.sqrt(2 / 576), rel=0.01)


@pytest.mark.parametrize("fn,kwargs,expected_std", [
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / (300 * 9))),
    (init.kaiming_normal_, dict(a=0.1, nonlinearity="leaky_relu"), math.sqrt(2 / (1 + 0.01)) / math.sqrt(200 * 9)),
    (init.kaiming_normal_, dict(nonlinearity="tanh"), (5 / 3) / math.sqrt(200 * 9)),
    (init.kaiming_normal_, dict(nonlinearity="selu"), 0.75 / math.sqrt(200 * 9)),
    (init.kaiming_normal_, dict(nonlinearity="linear"), 1 / math.sqrt(200 * 9)),
    (init.kaiming_normal_, dict(nonlinearity="sigmoid"), 1 / math.sqrt(200 * 9)),
    (init.kaiming_uniform_, dict(nonlinearity="relu"), math.sqrt(2 / (200 * 9))),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), 1 / math.sqrt(3 * 200 * 9)),  # U(±1/√fan_in)
    (init.xavier_normal_, {}, math.sqrt(2 / (200 * 9 + 300 * 9))),
    (init.xavier_uniform_, {}, math.sqrt(2 / (200 * 9 + 300 * 9))),
    (init.xavier_uniform_, dict(gain=2.0), 2 * math.sqrt(2 / (200 * 9 + 300 * 9))),
    (init.normal_, dict(mean=0.0, std=0.01), 0.01),
    (init.uniform_, dict(a=-0.5, b=0.5), 1 / math.sqrt(12)),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_empirical_std_matches_the_formula(fn, kwargs, expected_std):
    w = _w(300, 200, 3, 3)
    assert fn(w, **kwargs) is w
    mean, std = _stats(w)
    assert abs(mean) < 0.01 * max(expected_std, 1e-3) * 10
    assert std == pytest.approx(expected_std, rel=0.01)
    assert w.dtype == np.float32


def test_uniform_bounds_and_normal_mean():
    w = init.uniform_(_w(1000, 100), -0.3, 0.7)
    assert w.array.min() >= -0.3 and w.array.max() <= 0.7
    assert w.array.mean() == pytest.approx(0.2, abs=0.005)
    w = init.normal_(_w(1000, 100), mean=3.0, std=2.0)
    assert _stats(w)[0] == pytest.approx(3.0, abs=0.02) and _stats(w)[1] == pytest.approx(2.0, rel=0.01)
    bound = 1 / math.sqrt(100)
    w = init.kaiming_uniform_(_w(1000, 100), a=math.sqrt(5))
    assert w.array.max() <= bound and w.array.min() >= -bound and w.array.max() > 0.99 * bound


def test_trunc_normal_respects_absolute_bounds_and_matches_torch_moments(torch):
    """a and b are absolute bounds (PyTorch's semantics), not multiples of std."""
    w = init.trunc_normal_(_w(400, 500), mean=0.5, std=1.0, a=0.0, b=1.5)
    assert w.array.min() >= 0.0 and w.array.max() <= 1.5
    t = torch.nn.init.trunc_normal_(torch.empty(400, 500), mean=0.5, std=1.0, a=0.0, b=1.5)
    assert _stats(w)[0] == pytest.approx(float(t.mean()), abs=0.005)
    assert _stats(w)[1] == pytest.approx(float(t.std()), rel=0.01)
    w = init.trunc_normal_(_w(200, 200), std=0.02)  # bounds ±2 are 100 std away: plain N(0, 0.02²)
    assert _stats(w)[1] == pytest.approx(0.02, rel=0.02)
    w = init.trunc_normal_(_w(100, 100), mean=0.0, std=1.0, a=6.0, b=7.0)  # far tail: inverse CDF path
    assert w.array.min() >= 6.0 and w.array.max() <= 7.0
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(_w(3, 3), a=1.0, b=-1.0)


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (8, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(_w(*shape, dtype=ember.float64), gain=2.0)
    m = w.array.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)


def test_constant_fills_and_dtype():
    w = _w(3, 4, dtype=ember.float64)
    assert init.ones_(w) is w and np.all(w.array == 1) and w.dtype == np.float64
    assert np.all(init.zeros_(w).array == 0)
    assert np.all(init.constant_(w, 0.01).array == 0.01)
    np.testing.assert_array_equal(init.eye_(_w(3, 4)).array, np.eye(3, 4))
    d = init.dirac_(_w(4, 4, 3, 3))
    x = ember.randn(1, 4, 5, 5)
    np.testing.assert_allclose(nn.functional.conv2d(x, d, padding=1).array, x.array, atol=1e-6)


def test_initializers_draw_from_the_seeded_generator():
    ember.manual_seed(7)
    a = init.kaiming_normal_(_w(5, 5)).array.copy()
    b = init.trunc_normal_(_w(5, 5), std=0.1).array.copy()
    ember.manual_seed(7)
    np.testing.assert_array_equal(init.kaiming_normal_(_w(5, 5)).array, a)
    np.testing.assert_array_equal(init.trunc_normal_(_w(5, 5), std=0.1).array, b)
    ember.manual_seed(7)
    l1 = nn.Linear(5, 5)
    ember.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 5).weight.array, l1.weight.array)


def test_layers_default_to_pytorch_init():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert np.abs(lin.weight.array).max() <= bound and lin.weight.array.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert np.abs(lin.bias.array).max() <= bound and np.abs(lin.bias.array).max() > 0.9 * bound
    conv = nn.Conv2d(16, 64, 3, groups=2)
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(conv.weight.array).max() <= bound and np.abs(conv.bias.array).max() <= bound
    assert conv.weight.array.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_set_default_changes_every_layer_in_one_place():
    try:
        init.set_default(weight="kaiming_normal", bias="zeros")
        lin, conv = nn.Linear(500, 400), nn.Conv2d(32, 64, 3)
        assert lin.weight.array.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)
        assert conv.weight.array.std() == pytest.approx(math.sqrt(2 / 288), rel=0.02)
        assert np.all(lin.bias.array == 0) and np.all(conv.bias.array == 0)
        init.set_default(weight=lambda w: init.constant_(w, 0.5))
        assert np.all(nn.Linear(3, 2).weight.array == 0.5)
    finally:
        init.reset_default()
    assert nn.Linear(3, 2).weight.array.std() > 0
    with init.default_init(weight="xavier_normal", bias="relu"):
        lin = nn.Linear(300, 500)
        assert lin.weight.array.std() == pytest.approx(math.sqrt(2 / 800), rel=0.02)
        assert np.all(lin.bias.array == np.float32(0.01))
    assert np.abs(nn.Linear(300, 500).bias.array).max() > 0.02  # back to U(±1/√300)


def test_per_layer_init_argument():
    lin = nn.Linear(500, 400, init="xavier_uniform")
    assert lin.weight.array.std() == pytest.approx(math.sqrt(2 / 900), rel=0.02)
    conv = nn.Conv2d(3, 4, 3, init=init.zeros_)
    assert np.all(conv.weight.array == 0)
    with pytest.raises(ValueError, match="unknown weight initialisation 'lecun'"):
        nn.Linear(3, 2, init="lecun")
    with pytest.raises(ValueError, match="unknown bias initialisation"):
        init.set_default(bias="ones-ish")


def test_bad_arguments_fail_with_a_sentence():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(_w(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="fill an ember Tensor"):
        init.zeros_(np.zeros(3))
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(_w(3), 1.0, 0.0)


def test_zero_element_tensors_are_a_no_op():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.xavier_normal_,
               init.orthogonal_):
        w = _w(0, 5)
        assert fn(w) is w
    lin = nn.Linear(0, 3)
    assert lin(ember.zeros(2, 0)).shape == (2, 3)


def test_draws_are_made_in_the_tensors_own_precision():
    """float32 weights are drawn in float32 (fast); float64 weights keep float64's resolution."""
    ember.manual_seed(0)
    w32 = ember.empty(400, 300)
    w64 = ember.empty(400, 300, dtype=ember.float64)
    for fill in (lambda t: init.normal_(t, 1.0, 2.0), lambda t: init.uniform_(t, -3.0, 1.0)):
        fill(w32)
        fill(w64)
        assert w32.dtype == np.float32 and w64.dtype == np.float64
        assert np.any(w64.array != w64.array.astype(np.float32))  # not float32 values in a float64 array
    assert abs(float(w32.array.mean()) + 1.0) < 0.02 and w32.array.min() >= -3.0 and w32.array.max() <= 1.0
