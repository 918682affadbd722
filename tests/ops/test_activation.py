"""Activations and softmax: float64 gradchecks, stability at extreme inputs, their constants and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests.ops.cases import ACTIVATION
from tests.ops.harness import check_gradients


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", ACTIVATION, ids=[c.id for c in ACTIVATION])
def test_gradcheck(case, noncontig):
    check_gradients(case, noncontig)


EXTREME = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -5.0, 1e4]], np.float32)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_is_stable_for_logits_of_1e4(name):
    x = ember.tensor(EXTREME, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no invalid value
        out = getattr(F, name)(x, dim=1)
        (out * ember.randn(*out.shape)).sum().backward()
    assert np.all(np.isfinite(out.array)) and np.all(np.isfinite(x.grad.array))
    probs = out.array if name == "softmax" else np.exp(out.array)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs[0], [1, 0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(probs[1], [0.25] * 4, rtol=1e-6)
    if name == "log_softmax":
        assert out.array[0, 1] == pytest.approx(-2e4)  # exact, not -inf


@pytest.mark.parametrize("fn", [ember.sigmoid, ember.tanh, F.silu, F.softplus, F.elu, F.selu, F.gelu,
                                lambda x: F.gelu(x, approximate="tanh"), ember.relu, F.leaky_relu],
                         ids=["sigmoid", "tanh", "silu", "softplus", "elu", "selu", "gelu", "gelu_tanh", "relu",
                              "leaky_relu"])
def test_activations_are_finite_and_float32_at_extreme_inputs(fn):
    x = ember.tensor([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert np.all(np.isfinite(y.array)) and np.all(np.isfinite(x.grad.array))


def test_relu_of_minus_infinity_is_zero_and_its_slope_at_zero_is_zero():
    x = ember.tensor([-np.inf, 0.0, 2.0], requires_grad=True)
    y = ember.relu(x)
    np.testing.assert_array_equal(y.array, [0.0, 0.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [0.0, 0.0, 1.0])


def test_selu_uses_the_self_normalising_constants():
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    y = F.selu(ember.tensor([1.0, -50.0], dtype=ember.float64))
    np.testing.assert_allclose(y.array, [lam, -lam * alpha], rtol=1e-12)


def test_sigmoid_and_friends_follow_their_formulas():
    x = np.linspace(-4, 4, 9)
    t = ember.tensor(x, dtype=ember.float64)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(ember.sigmoid(t).array, s)
    np.testing.assert_allclose(F.silu(t).array, x * s)
    np.testing.assert_allclose(F.leaky_relu(t, 0.1).array, np.maximum(0.1 * x, x))
    np.testing.assert_allclose(F.elu(t, alpha=0.7).array, np.where(x > 0, x, 0.7 * np.expm1(x)))
    np.testing.assert_allclose(F.softplus(t).array, np.log1p(np.exp(x)))


def test_prelu_learns_its_slope_and_checks_its_shape():
    x = ember.tensor([[-1.0, 2.0], [-3.0, -4.0]])
    w = ember.tensor([0.1, 0.2], requires_grad=True)
    y = F.prelu(x, w)
    np.testing.assert_allclose(y.array, [[-0.1, 2.0], [-0.3, -0.8]], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.array, [-4.0, -4.0])
    with pytest.raises(RuntimeError, match=r"weight of shape \(3,\).*input of shape \(2, 2\) has 2 channels"):
        F.prelu(x, ember.ones(3))


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        F.gelu(ember.randn(3), approximate="erf")


def test_softmax_dtype_argument_casts_first():
    x = ember.randn(2, 3, requires_grad=True)
    for y in (ember.softmax(x, 1, dtype=ember.float64), x.log_softmax(-1, dtype=ember.float64),
              F.softmax(x, dim=1, dtype=ember.float64)):
        assert y.dtype == np.float64
    F.log_softmax(x, 1, dtype=ember.float64).sum().backward()
    assert x.grad.dtype == np.float32

